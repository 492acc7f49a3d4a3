using NCrontab;

namespace Ferry.Spec;

internal sealed partial class SpecReader
{
    internal static readonly string[] TriggerTypes = ["webhook", "cron", "manual"];
    internal static readonly string[] CommonTriggerKeys = ["type", "next", "enabled", "disabled_reason"];
    internal static readonly string[] WebhookKeys = [.. CommonTriggerKeys, "auth", "credential", "path", "reply", "reply_timeout", "max_body", "content_types"];
    internal static readonly string[] CronKeys = [.. CommonTriggerKeys, "cron", "timezone"];
    internal static readonly string[] WebhookAuths = ["api-key", "basic", "none"];
    internal static readonly string[] ReplyModes = ["before_start", "after_completion"];
    internal static readonly string[] ContentTypes = ["json", "form", "xml", "text"];

    /// <summary>Paths the server serves itself; a webhook's custom path may not start with them.</summary>
    private static readonly string[] ReservedPaths = ["/i/", "/api/", "/openapi/", "/metrics/", "/healthz/", "/readyz/"];

    private TriggerSpec? ReadTrigger(YScalar key, YNode node, string workflowWhere)
    {
        var id = key.Value;
        CheckId(key, "trigger");
        var where = $"trigger '{id}' of {workflowWhere}";
        if (AsMap(node, where, $"{id}: {{ type: webhook }}") is not { } map)
        {
            if (node is YScalar { IsNull: true })
                Error(SpecCodes.MissingKey, $"Trigger '{id}' has no 'type'.", key, $"Write: {id}: {{ type: webhook }} (or cron, manual).");
            return null;
        }

        TriggerType? type = null;
        if (map["type"] is not { } typeNode)
        {
            Error(SpecCodes.MissingKey, $"Trigger '{id}' has no 'type'.", key, "Add type: webhook, type: cron or type: manual.");
        }
        else if (ReadString(typeNode, $"the type of {where}") is { } typeText)
        {
            type = typeText switch
            {
                "webhook" => TriggerType.Webhook,
                "cron" => TriggerType.Cron,
                "manual" => TriggerType.Manual,
                _ => null,
            };
            if (type is null)
            {
                Error(SpecCodes.UnknownTriggerType, $"Unknown trigger type '{typeText}' in {where}.", typeNode,
                    Hint(DidYouMean(typeText, TriggerTypes), "Use webhook, cron or manual."));
            }
        }

        var known = type switch
        {
            TriggerType.Webhook => WebhookKeys,
            TriggerType.Cron => CronKeys,
            TriggerType.Manual => CommonTriggerKeys,
            _ => WebhookKeys.Union(CronKeys).ToArray(),
        };
        CheckKeys(map, where, known, k => ExplainTriggerKey(k, type, known));
        if (type is not { } kind) return null;

        var trigger = new TriggerSpec
        {
            Name = id,
            Type = kind,
            Cron = kind == TriggerType.Cron ? ReadCron(map, key, where) : null,
            Timezone = map["timezone"] is { } tz && kind == TriggerType.Cron ? ReadTimeZone(tz, where) : null,
            Auth = (map["auth"] is { } auth && kind == TriggerType.Webhook
                ? ReadChoice(auth, $"the 'auth' of {where}", WebhookAuths, SpecCodes.UnknownWebhookAuth) : null) ?? "none",
            Credential = map["credential"] is { } cred && kind == TriggerType.Webhook ? ReadString(cred, $"the 'credential' of {where}") : null,
            Path = map["path"] is { } p && kind == TriggerType.Webhook ? ReadWebhookPath(p, where) : null,
            Reply = (map["reply"] is { } reply && kind == TriggerType.Webhook
                ? ReadChoice(reply, $"the 'reply' of {where}", ReplyModes, SpecCodes.UnknownReplyMode) : null) ?? "before_start",
            ReplyTimeout = map["reply_timeout"] is { } rt && kind == TriggerType.Webhook ? ReadDuration(rt, $"the 'reply_timeout' of {where}") : null,
            MaxBodyBytes = map["max_body"] is { } mb && kind == TriggerType.Webhook ? ReadSize(mb, $"the 'max_body' of {where}") : null,
            ContentTypes = map["content_types"] is { } ct && kind == TriggerType.Webhook ? ReadContentTypes(ct, where) : ["json"],
            Enabled = map["enabled"] is not { } e || (ReadBool(e, $"'enabled' of {where}") ?? true),
            DisabledReason = map["disabled_reason"] is { } dr ? ReadString(dr, $"the 'disabled_reason' of {where}") : null,
            Next = map["next"] is { } next ? ReadNext(next, where, fromTrigger: true) : [],
            Location = At(key),
        };

        if (kind == TriggerType.Webhook)
        {
            if (trigger.Auth is "api-key" or "basic" && trigger.Credential is null && map["credential"] is null)
            {
                Error(SpecCodes.WebhookAuthWithoutCredential, $"Webhook {where} uses auth '{trigger.Auth}' but names no credential to check requests against.",
                    map["auth"], $"Add credential: <name> (declared under 'credentials:') holding the {(trigger.Auth == "basic" ? "username and password" : "api_key")}.");
            }
            if (trigger.Auth == "none" && trigger.Credential is not null && map["auth"] is not null)
            {
                Warn(SpecCodes.WebhookCredentialIgnored, $"Webhook {where} names credential '{trigger.Credential}' but has auth: none, so the credential is not used.",
                    map["credential"]!, "Set auth: api-key or auth: basic, or remove the credential.");
            }
            if (trigger.Credential is not null) CheckCredentialDeclared(trigger.Credential, map["credential"]!);
            if (trigger.Path is not null) _webhookPaths.Add((trigger.Path, trigger, map["path"]!));
        }
        return trigger;
    }

    private static string? ExplainTriggerKey(string key, TriggerType? type, string[] known)
    {
        if (type is null) return null;
        var owner = WebhookKeys.Contains(key) ? "webhook" : CronKeys.Contains(key) ? "cron" : null;
        var typeName = type.Value.ToString().ToLowerInvariant();
        return owner is null ? null : $"'{key}' applies to {owner} triggers; this trigger is type: {typeName}. Remove it, or change the type. Valid keys here: {string.Join(", ", known)}.";
    }

    private string? ReadCron(YMap map, YScalar key, string where)
    {
        if (map["cron"] is not { } node)
        {
            Error(SpecCodes.CronMissing, $"Cron {where} has no 'cron' schedule.", key,
                "Add cron: \"0 23 * * *\" (minute hour day-of-month month day-of-week; 6 fields adds seconds first).");
            return null;
        }
        var text = ReadString(node, $"the 'cron' of {where}");
        if (text is null)
        {
            if (node is YScalar) Error(SpecCodes.CronMissing, $"The 'cron' of {where} is empty.", node, "Write a schedule such as \"*/15 * * * *\".");
            return null;
        }
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length is not (5 or 6))
        {
            Error(SpecCodes.CronInvalid, $"The 'cron' of {where} has {fields.Length} field{(fields.Length == 1 ? "" : "s")}: '{text}'.", node,
                "Write 5 fields (minute hour day-of-month month day-of-week), e.g. \"0 23 * * *\", or 6 with seconds first.");
            return null;
        }
        var options = new CrontabSchedule.ParseOptions { IncludingSeconds = fields.Length == 6 };
        if (CrontabSchedule.TryParse(text, options) is null)
        {
            Error(SpecCodes.CronInvalid, $"The 'cron' of {where} is not a valid schedule: '{text}'.", node,
                "Each field takes a number, a range (1-5), a list (1,15), a step (*/10) or *; e.g. \"30 6 * * 1-5\" is 06:30 on weekdays.");
            return null;
        }
        return text;
    }

    private string? ReadTimeZone(YNode node, string where)
    {
        var text = ReadString(node, $"the 'timezone' of {where}");
        if (text is null) return null;
        if (TimeZoneInfo.TryFindSystemTimeZoneById(text, out _)) return text;
        var ids = TimeZoneInfo.GetSystemTimeZones().Select(z => z.Id).Append("UTC").ToArray();
        Error(SpecCodes.UnknownTimeZone, $"Unknown time zone '{text}' in {where}.", node,
            Hint(DidYouMean(text, ids), "Use an IANA time zone id such as Africa/Kampala, Europe/Paris or UTC."));
        return null;
    }

    private string? ReadWebhookPath(YNode node, string where)
    {
        var text = ReadString(node, $"the 'path' of {where}");
        if (text is null) return null;
        var problem = !text.StartsWith('/') ? "does not start with '/'"
            : text.Any(c => char.IsWhiteSpace(c) || c is '?' or '#' or '\\') ? "contains a space, '?', '#' or '\\'"
            : ReservedPaths.FirstOrDefault(r => (text + "/").StartsWith(r, StringComparison.OrdinalIgnoreCase)) is { } reserved ? $"starts with '{reserved.TrimEnd('/')}', which the server uses itself"
            : text.TrimEnd('/').Length == 0 ? "is the site root"
            : null;
        if (problem is null) return text;
        Error(SpecCodes.InvalidWebhookPath, $"The 'path' of {where} ('{text}') {problem}.", node,
            "Write a path such as /commcare/forms; without 'path' the webhook listens on /i/<project>/<workflow>/<trigger>.");
        return null;
    }

    private List<string> ReadContentTypes(YNode node, string where)
    {
        var items = node switch
        {
            YSeq seq => seq.Items,
            YScalar { IsNull: false } => [node],
            _ => [],
        };
        if (node is YMap) Error(SpecCodes.WrongType, $"The 'content_types' of {where} must be a list, but it is a mapping.", node, "Write content_types: [json, form].");
        var result = new List<string>();
        foreach (var item in items)
        {
            if (ReadChoice(item, $"the content type in {where}", ContentTypes, SpecCodes.InvalidValue) is { } type && !result.Contains(type))
                result.Add(type);
        }
        return result.Count == 0 ? ["json"] : result;
    }

    private void CheckWebhookPaths()
    {
        foreach (var group in _webhookPaths.GroupBy(p => p.Path.TrimEnd('/').ToLowerInvariant()).Where(g => g.Count() > 1))
        {
            var first = group.First();
            foreach (var (path, trigger, node) in group.Skip(1))
            {
                Error(SpecCodes.DuplicateWebhookPath, $"Webhook path '{path}' of trigger '{trigger.Name}' is already used by trigger '{first.Trigger.Name}' ({first.Trigger.Location}).",
                    node, "Give each webhook its own path; a request can only start one trigger.");
            }
        }
    }
}
