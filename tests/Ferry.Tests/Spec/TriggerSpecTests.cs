using Ferry.Spec;

namespace Ferry.Tests.Spec;

public class TriggerSpecTests
{
    /// <summary>A project whose trigger 'in' is written on line 6 with its mapping starting at column 11.</summary>
    private static string WithTrigger(string trigger, string extraTriggers = "") => $$"""
        name: demo
        credentials: { hook-key: { adaptor: http } }
        workflows:
          sync:
            triggers:
              in: { {{trigger}} }
        {{extraTriggers}}
            steps:
              fetch:
                code: return state;
        """;

    [Fact]
    public void Unknown_trigger_type_is_reported_with_did_you_mean()
    {
        using var project = new TempProject();
        var d = project.Load(WithTrigger("type: webhok")).Only(SpecCodes.UnknownTriggerType);
        d.AssertAt(6, 19);
        Assert.StartsWith("Did you mean 'webhook'?", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Trigger_without_type_is_reported()
    {
        using var project = new TempProject();
        project.Load(WithTrigger("auth: none")).Only(SpecCodes.MissingKey).AssertAt(6, 7);
    }

    [Fact]
    public void Cron_trigger_without_schedule_is_reported()
    {
        using var project = new TempProject();
        var d = project.Load(WithTrigger("type: cron")).Only(SpecCodes.CronMissing);
        d.AssertAt(6, 7);
        Assert.Contains("cron: \"0 23 * * *\"", d.Hint, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"0 25 * * *\"", "not a valid schedule")]
    [InlineData("\"0 23 * *\"", "has 4 fields")]
    [InlineData("\"0 0 23 * * * *\"", "has 7 fields")]
    public void Invalid_cron_is_reported(string cron, string expected)
    {
        using var project = new TempProject();
        var d = project.Load(WithTrigger($"type: cron, cron: {cron}")).Only(SpecCodes.CronInvalid);
        d.AssertAt(6, 31);
        Assert.Contains(expected, d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Six_field_cron_with_seconds_is_accepted()
    {
        using var project = new TempProject();
        var result = project.Load(WithTrigger("type: cron, cron: \"*/30 * * * * *\", timezone: Africa/Kampala"));
        result.AssertNoErrors();
        var trigger = result.Project!.Workflows[0].Triggers[0];
        Assert.Equal("*/30 * * * * *", trigger.Cron);
        Assert.Equal("Africa/Kampala", trigger.Timezone);
    }

    [Fact]
    public void Unknown_time_zone_is_reported_with_did_you_mean()
    {
        using var project = new TempProject();
        var d = project.Load(WithTrigger("type: cron, cron: \"0 1 * * *\", timezone: Africa/Kampla")).Only(SpecCodes.UnknownTimeZone);
        d.AssertAt(6, 54);
        Assert.StartsWith("Did you mean 'Africa/Kampala'?", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_webhook_auth_is_reported()
    {
        using var project = new TempProject();
        var d = project.Load(WithTrigger("type: webhook, auth: apikey, credential: hook-key")).Only(SpecCodes.UnknownWebhookAuth);
        d.AssertAt(6, 34);
        Assert.StartsWith("Did you mean 'api-key'?", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_reply_mode_is_reported()
    {
        using var project = new TempProject();
        var d = project.Load(WithTrigger("type: webhook, reply: after_complete")).Only(SpecCodes.UnknownReplyMode);
        d.AssertAt(6, 35);
        Assert.StartsWith("Did you mean 'after_completion'?", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Webhook_with_auth_but_no_credential_is_reported()
    {
        using var project = new TempProject();
        var d = project.Load(WithTrigger("type: webhook, auth: basic")).Only(SpecCodes.WebhookAuthWithoutCredential);
        d.AssertAt(6, 34);
        Assert.Contains("username and password", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Webhook_credential_must_be_declared()
    {
        using var project = new TempProject();
        var d = project.Load(WithTrigger("type: webhook, auth: api-key, credential: hook-kye")).Only(SpecCodes.UnknownCredential);
        d.AssertAt(6, 55);
        Assert.StartsWith("Did you mean 'hook-key'?", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_custom_webhook_paths_are_reported()
    {
        using var project = new TempProject();
        var result = project.Load(WithTrigger("type: webhook, path: /commcare/forms",
            "      again: { type: webhook, path: /commcare/forms/ }"));
        var d = result.Only(SpecCodes.DuplicateWebhookPath);
        d.AssertAt(7, 37);
        Assert.Contains("already used by trigger 'in'", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Webhook_path_under_the_api_is_refused()
    {
        using var project = new TempProject();
        var d = project.Load(WithTrigger("type: webhook, path: /api/forms")).Only(SpecCodes.InvalidWebhookPath);
        d.AssertAt(6, 34);
    }

    [Fact]
    public void Cron_key_on_a_webhook_explains_which_type_it_belongs_to()
    {
        using var project = new TempProject();
        var d = project.Load(WithTrigger("type: webhook, timezone: UTC")).Only(SpecCodes.UnknownKey);
        d.AssertAt(6, 28);
        Assert.StartsWith("'timezone' applies to cron triggers; this trigger is type: webhook.", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_content_type_is_reported()
    {
        using var project = new TempProject();
        var d = project.Load(WithTrigger("type: webhook, content_types: [json, jsn, csv]"))
            .Diagnostics.Where(x => x.Code == SpecCodes.InvalidValue).ToArray();
        Assert.Equal(2, d.Length);
        d[0].AssertAt(6, 50);
        Assert.StartsWith("Did you mean 'json'?", d[0].Hint, StringComparison.Ordinal);
    }
}
