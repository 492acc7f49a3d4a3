namespace Ferry.Spec;

internal sealed partial class SpecReader
{
    internal static readonly string[] ProjectKeys = ["name", "description", "credentials", "workflows", "retention", "concurrency"];
    internal static readonly string[] CredentialKeys = ["adaptor"];
    internal static readonly string[] RetentionKeys = ["policy", "history_days", "dataclip_days"];
    internal static readonly string[] RetentionPolicies = ["retain_all", "retain_with_errors", "erase_all"];
    internal static readonly string[] WorkflowKeys = ["description", "triggers", "steps", "concurrency", "ordered", "retry", "timeout", "memory", "enabled"];
    internal static readonly string[] RetryKeys = ["attempts", "backoff", "max_backoff"];

    /// <summary>Default retry waits when <c>retry:</c> names only some keys.</summary>
    internal static readonly TimeSpan DefaultBackoff = TimeSpan.FromSeconds(10);
    internal static readonly TimeSpan DefaultMaxBackoff = TimeSpan.FromMinutes(10);

    private readonly List<(string Path, TriggerSpec Trigger, YNode Node)> _webhookPaths = [];
    private List<CredentialSpec> _credentials = [];

    public ProjectSpec ReadProject(YMap root, string specFile)
    {
        CheckKeys(root, "the top level of ferry.yaml", ProjectKeys);

        string? name = null;
        if (root["name"] is { } nameNode) name = ReadName(nameNode, "the project name", Path.GetFileName(_projectDirectory));
        else
        {
            Error(SpecCodes.MissingKey, "ferry.yaml has no 'name'.", root,
                $"Add a first line such as: name: {Slug(Path.GetFileName(_projectDirectory), "my-project")}");
        }

        _credentials = root["credentials"] is { } c ? ReadCredentials(c) : [];
        var retention = root["retention"] is { } r ? ReadRetention(r) : null;
        var concurrency = root["concurrency"] is { } cc ? ReadInt(cc, "the project 'concurrency'", 1) : null;
        var description = root["description"] is { } d ? ReadString(d, "the project 'description'") : null;

        var workflows = new List<WorkflowSpec>();
        var workflowsNode = root["workflows"];
        var workflowMap = workflowsNode is null ? null
            : AsMap(workflowsNode, "'workflows'", "workflows: { my-workflow: { steps: { first-step: { code: jobs/first.csx } } } }");
        if (workflowMap is not null)
        {
            ReportDuplicates(workflowMap, "'workflows'", SpecCodes.DuplicateWorkflow,
                n => $"Two workflows are named '{n}'.");
            foreach (var (key, value) in workflowMap.Entries)
                workflows.Add(ReadWorkflow(key, value));
        }
        if (workflows.Count == 0)
        {
            Warn(SpecCodes.NoWorkflows, "The project defines no workflows, so there is nothing to run.", workflowsNode ?? root,
                "Add a 'workflows:' mapping with at least one workflow and its steps.");
        }
        CheckWebhookPaths();

        return new ProjectSpec
        {
            Name = name ?? "",
            Description = description,
            Directory = _projectDirectory,
            SpecFile = specFile,
            Credentials = _credentials,
            Workflows = workflows,
            Retention = retention,
            Concurrency = concurrency,
        };
    }

    private List<CredentialSpec> ReadCredentials(YNode node)
    {
        var result = new List<CredentialSpec>();
        if (AsMap(node, "'credentials'", "credentials: { hmis-db: { adaptor: postgres } }") is not { } map) return result;
        ReportDuplicates(map, "'credentials'", SpecCodes.DuplicateKey, n => $"The credential '{n}' is declared twice.");
        foreach (var (key, value) in map.Entries)
        {
            var what = $"the adaptor of credential '{key.Value}'";
            YNode? adaptorNode = value;
            if (value is YMap credential)
            {
                CheckKeys(credential, $"credential '{key.Value}'", CredentialKeys);
                adaptorNode = credential["adaptor"];
            }
            var adaptor = adaptorNode is null ? null : ReadString(adaptorNode, what);
            if (adaptor is null)
            {
                if (adaptorNode is null || adaptorNode is YScalar)
                {
                    Error(SpecCodes.MissingKey, $"Credential '{key.Value}' does not say which adaptor it is for.", key,
                        $"Write: {key.Value}: {{ adaptor: <kind> }} with the adaptor kind that uses it{(_options.KnownAdaptors.Count > 0 ? $" ({string.Join(", ", _options.KnownAdaptors.Order(StringComparer.Ordinal))})" : "")}.");
                }
                continue;
            }
            CheckAdaptorKnown(adaptor, adaptorNode!, $"credential '{key.Value}'");
            result.Add(new CredentialSpec(key.Value, adaptor, At(key)));
        }
        return result;
    }

    private RetentionSpec? ReadRetention(YNode node)
    {
        if (AsMap(node, "'retention'", "retention: { policy: retain_with_errors, history_days: 30 }") is not { } map) return null;
        CheckKeys(map, "'retention'", RetentionKeys);
        var policy = map["policy"] is { } p
            ? ReadChoice(p, "the retention policy", RetentionPolicies, SpecCodes.UnknownRetentionPolicy)
            : "retain_all";
        var history = map["history_days"] is { } h ? ReadInt(h, "'history_days'", 1) : null;
        var dataclips = map["dataclip_days"] is { } dc ? ReadInt(dc, "'dataclip_days'", 0) : null;
        return new RetentionSpec(policy ?? "retain_all", history, dataclips, At(map));
    }

    private WorkflowSpec ReadWorkflow(YScalar key, YNode node)
    {
        var id = key.Value;
        CheckId(key, "workflow");
        var where = $"workflow '{id}'";
        var map = AsMap(node, where, $"{id}: {{ triggers: {{ … }}, steps: {{ … }} }}");
        if (map is null)
        {
            if (node is YScalar { IsNull: true })
                Error(SpecCodes.WorkflowWithoutSteps, $"Workflow '{id}' has no steps.", key, "Add 'steps:' with at least one step.");
            return new WorkflowSpec { Name = id, Location = At(key) };
        }
        CheckKeys(map, where, WorkflowKeys);

        var steps = new List<StepSpec>();
        var stepsNode = map["steps"];
        if (stepsNode is not null && AsMap(stepsNode, $"'steps' of {where}", "steps: { fetch: { code: jobs/fetch.csx } }") is { } stepMap)
        {
            ReportDuplicates(stepMap, $"'steps' of {where}", SpecCodes.DuplicateKey, n => $"Workflow '{id}' has two steps named '{n}'.");
            foreach (var (stepKey, stepNode) in stepMap.Entries)
                steps.Add(ReadStep(stepKey, stepNode, where));
        }
        if (steps.Count == 0 && (stepsNode is null || stepsNode is YMap || stepsNode is YScalar { IsNull: true }))
        {
            Error(SpecCodes.WorkflowWithoutSteps, $"Workflow '{id}' has no steps.", map.KeyOf("steps") ?? (YNode)key,
                $"Add at least one step, e.g. steps: {{ first-step: {{ code: jobs/first.csx }} }}.");
        }

        var triggers = new List<TriggerSpec>();
        if (map["triggers"] is { } triggersNode
            && AsMap(triggersNode, $"'triggers' of {where}", "triggers: { nightly: { type: cron, cron: \"0 23 * * *\" } }") is { } triggerMap)
        {
            ReportDuplicates(triggerMap, $"'triggers' of {where}", SpecCodes.DuplicateKey, n => $"Workflow '{id}' has two triggers named '{n}'.");
            foreach (var (triggerKey, triggerNode) in triggerMap.Entries)
            {
                if (ReadTrigger(triggerKey, triggerNode, where) is { } trigger) triggers.Add(trigger);
            }
        }

        var workflow = new WorkflowSpec
        {
            Name = id,
            Description = map["description"] is { } d ? ReadString(d, $"the 'description' of {where}") : null,
            Triggers = triggers,
            Steps = steps,
            Concurrency = map["concurrency"] is { } c ? ReadInt(c, $"the 'concurrency' of {where}", 1) : null,
            Ordered = map["ordered"] is { } o && (ReadBool(o, $"'ordered' of {where}") ?? false),
            Retry = map["retry"] is { } r ? ReadRetry(r, where) : null,
            Timeout = map["timeout"] is { } t ? ReadDuration(t, $"the 'timeout' of {where}") : null,
            MemoryLimit = map["memory"] is { } m ? ReadSize(m, $"the 'memory' of {where}") : null,
            Enabled = map["enabled"] is not { } e || (ReadBool(e, $"'enabled' of {where}") ?? true),
            Location = At(key),
        };
        CheckGraph(workflow);
        return workflow;
    }

    private RetrySpec? ReadRetry(YNode node, string where)
    {
        if (AsMap(node, $"'retry' of {where}", "retry: { attempts: 3, backoff: 30s, max_backoff: 10m }") is not { } map) return null;
        CheckKeys(map, $"'retry' of {where}", RetryKeys);
        var attempts = map["attempts"] is { } a ? ReadInt(a, $"'retry.attempts' of {where}", 0, 100) : null;
        if (map["attempts"] is null)
        {
            Error(SpecCodes.MissingKey, $"'retry' of {where} does not say how many attempts to make.", map,
                "Add attempts: 3 (the number of retries after the first run fails).");
        }
        var backoff = map["backoff"] is { } b ? ReadDuration(b, $"'retry.backoff' of {where}") : null;
        var maxBackoff = map["max_backoff"] is { } mb ? ReadDuration(mb, $"'retry.max_backoff' of {where}") : null;
        if (backoff is { } low && maxBackoff is { } high && high < low)
        {
            Error(SpecCodes.NumberOutOfRange, $"'retry.max_backoff' of {where} ({SpecValues.FormatDuration(high)}) is shorter than 'backoff' ({SpecValues.FormatDuration(low)}).",
                map["max_backoff"], "Make max_backoff at least as long as backoff.");
        }
        return attempts is null ? null : new RetrySpec(attempts.Value, backoff ?? DefaultBackoff, maxBackoff ?? (backoff is { } b2 && b2 > DefaultMaxBackoff ? b2 : DefaultMaxBackoff));
    }

    private void CheckAdaptorKnown(string adaptor, YNode node, string owner)
    {
        if (_options.KnownAdaptors.Count == 0 || _options.KnownAdaptors.Contains(adaptor)) return;
        Error(SpecCodes.UnknownAdaptor, $"Unknown adaptor '{adaptor}' in {owner}.", node,
            Hint(DidYouMean(adaptor, _options.KnownAdaptors),
                $"Known adaptors: {string.Join(", ", _options.KnownAdaptors.Order(StringComparer.Ordinal))} (see `ferry docs`)."));
    }
}
