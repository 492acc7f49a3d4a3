namespace Ferry.Spec;

/// <summary>Stable diagnostic codes of the ferry.yaml loader (documented in docs/spec.md).</summary>
public static class SpecCodes
{
    // File and syntax.
    public const string FileNotFound = "FERRY001";
    public const string MalformedYaml = "FERRY002";
    public const string RootNotMapping = "FERRY003";
    public const string DuplicateKey = "FERRY004";
    public const string UnknownKey = "FERRY005";
    public const string WrongType = "FERRY006";
    public const string InvalidName = "FERRY007";
    public const string MissingKey = "FERRY008";
    public const string InvalidNumber = "FERRY009";
    public const string InvalidDuration = "FERRY010";
    public const string InvalidSize = "FERRY011";
    public const string InvalidBoolean = "FERRY012";
    public const string InvalidValue = "FERRY013";

    // Code and mapping files.
    public const string CodeFileNotFound = "FERRY020";
    public const string MapFileNotFound = "FERRY021";
    public const string CodeFileExtension = "FERRY022";
    public const string MapFileExtension = "FERRY023";
    public const string StepWithoutWork = "FERRY024";

    // Adaptors and credentials.
    public const string UnknownAdaptor = "FERRY030";
    public const string UnknownCredential = "FERRY031";
    public const string CredentialAdaptorMismatch = "FERRY032";
    public const string CredentialWithoutAdaptor = "FERRY033";

    // Triggers.
    public const string UnknownTriggerType = "FERRY040";
    public const string CronMissing = "FERRY041";
    public const string CronInvalid = "FERRY042";
    public const string UnknownTimeZone = "FERRY043";
    public const string UnknownWebhookAuth = "FERRY044";
    public const string UnknownReplyMode = "FERRY045";
    public const string WebhookAuthWithoutCredential = "FERRY046";
    public const string DuplicateWebhookPath = "FERRY047";
    public const string InvalidWebhookPath = "FERRY048";
    public const string WebhookCredentialIgnored = "FERRY049";

    // Edges and graph.
    public const string UnknownNextStep = "FERRY050";
    public const string Cycle = "FERRY051";
    public const string UnreachableStep = "FERRY052";
    public const string TriggerEdgeOnOutcome = "FERRY053";
    public const string EmptyExpression = "FERRY054";
    public const string FalseCondition = "FERRY055";

    // Workflows and project.
    public const string WorkflowWithoutSteps = "FERRY060";
    public const string DuplicateWorkflow = "FERRY061";
    public const string UnknownRetentionPolicy = "FERRY062";
    public const string NumberOutOfRange = "FERRY063";
    public const string NoWorkflows = "FERRY064";
    public const string MoreThanOneDocument = "FERRY065";
}
