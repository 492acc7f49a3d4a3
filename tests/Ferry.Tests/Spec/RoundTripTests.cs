using Ferry.Spec;

namespace Ferry.Tests.Spec;

public class RoundTripTests
{
    private const string FullProject = """
        name: godata-hmis
        description: Two-way case exchange
        concurrency: 8
        retention: { policy: retain_with_errors, history_days: 30, dataclip_days: 7 }
        credentials:
          hmis-db: { adaptor: postgres }
          godata:  { adaptor: godata }
          smtp: email
          hook-key: { adaptor: http }
        workflows:
          hmis-to-godata:
            description: Nightly push
            concurrency: 2
            ordered: true
            retry: { attempts: 3, backoff: 30s, max_backoff: 10m }
            timeout: 1h30m
            memory: 256MB
            enabled: false
            triggers:
              nightly: { type: cron, cron: "0 23 * * *", timezone: Africa/Kampala, enabled: false }
              by-hand: { type: manual }
            steps:
              fetch-cases:
                name: Fetch cases from the HMIS
                adaptor: postgres
                credential: hmis-db
                code: jobs/fetch-cases.csx
                timeout: 90s
                next: { to-godata: on_success, alert-admin: on_failure }
              to-godata:
                adaptor: godata
                credential: godata
                map: mappings/hmis-case-to-godata.yaml
                code: jobs/upsert-cases.csx
              alert-admin:
                adaptor: email
                credential: smtp
                code: |
                  log.Error("fetch failed");
          godata-to-hmis:
            triggers:
              from-godata:
                type: webhook
                auth: api-key
                credential: hook-key
                path: /godata/cases
                reply: after_completion
                reply_timeout: 20s
                max_body: 512KB
                content_types: [json, form]
                enabled: false
                disabled_reason: HMIS maintenance
                next: { store: "state.data.classification == \"CONFIRMED\"" }
            steps:
              store:
                map: mappings/case.csv
        """;

    [Fact]
    public void Every_key_of_a_full_project_is_read_into_the_model()
    {
        using var project = new TempProject();
        project.Write("jobs/fetch-cases.csx", "state.data = 1;")
            .Write("jobs/upsert-cases.csx", "return state;")
            .Write("mappings/hmis-case-to-godata.yaml", "fields: []")
            .Write("mappings/case.csv", "target,source\n");
        var result = project.Load(FullProject);
        Assert.Empty(result.Diagnostics);
        var spec = result.Project!;

        Assert.Equal(("godata-hmis", "Two-way case exchange", 8), (spec.Name, spec.Description, spec.Concurrency));
        Assert.Equal(project.Directory, spec.Directory);
        Assert.Equal(project.SpecFile, spec.SpecFile);
        Assert.Equal(("retain_with_errors", 30, 7), (spec.Retention!.Policy, spec.Retention.HistoryDays, spec.Retention.DataclipDays));
        Assert.Equal(["hmis-db:postgres", "godata:godata", "smtp:email", "hook-key:http"], spec.Credentials.Select(c => $"{c.Name}:{c.Adaptor}"));
        Assert.Equal((6, 3), (spec.Credentials[0].Location.Line, spec.Credentials[0].Location.Column));

        var nightly = spec.FindWorkflow("hmis-to-godata")!;
        Assert.Equal(("Nightly push", 2, true, false), (nightly.Description, nightly.Concurrency, nightly.Ordered, nightly.Enabled));
        Assert.Equal(new RetrySpec(3, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10)), nightly.Retry);
        Assert.Equal(TimeSpan.FromMinutes(90), nightly.Timeout);
        Assert.Equal(256L * 1024 * 1024, nightly.MemoryLimit);
        Assert.Equal((11, 3), (nightly.Location.Line, nightly.Location.Column));

        var cron = nightly.Triggers[0];
        Assert.Equal(("nightly", TriggerType.Cron, "0 23 * * *", "Africa/Kampala", false), (cron.Name, cron.Type, cron.Cron, cron.Timezone, cron.Enabled));
        Assert.Empty(cron.Next);
        Assert.Equal(TriggerType.Manual, nightly.Triggers[1].Type);

        Assert.Equal(["fetch-cases", "to-godata", "alert-admin"], nightly.Steps.Select(s => s.Id));
        var fetch = nightly.Steps[0];
        Assert.Equal(("Fetch cases from the HMIS", "postgres", "hmis-db"), (fetch.Name, fetch.Adaptor, fetch.Credential));
        Assert.Equal(("state.data = 1;", "jobs/fetch-cases.csx"), (fetch.Code, fetch.CodeFile));
        Assert.Equal(TimeSpan.FromSeconds(90), fetch.Timeout);
        Assert.Equal([("to-godata", EdgeConditionKind.OnSuccess), ("alert-admin", EdgeConditionKind.OnFailure)],
            fetch.Next.Select(e => (e.Target, e.Condition)));
        var toGodata = nightly.Steps[1];
        Assert.Equal("mappings/hmis-case-to-godata.yaml", toGodata.Map);
        Assert.Equal((33, 14), (toGodata.MapLocation!.Line, toGodata.MapLocation.Column));
        Assert.Equal("return state;", toGodata.Code);
        var alert = nightly.Steps[2];
        Assert.Equal("log.Error(\"fetch failed\");\n", alert.Code);
        Assert.Equal((39, 11), (alert.CodeLocation!.Line, alert.CodeLocation.Column));

        var intake = spec.FindWorkflow("godata-to-hmis")!;
        Assert.Null(intake.Retry);
        Assert.True(intake.Enabled);
        var hook = intake.Triggers[0];
        Assert.Equal((TriggerType.Webhook, "api-key", "hook-key", "/godata/cases", "after_completion"),
            (hook.Type, hook.Auth, hook.Credential, hook.Path, hook.Reply));
        Assert.Equal((TimeSpan.FromSeconds(20), 512L * 1024), (hook.ReplyTimeout, hook.MaxBodyBytes));
        Assert.Equal(["json", "form"], hook.ContentTypes);
        Assert.Equal((false, "HMIS maintenance"), (hook.Enabled, hook.DisabledReason));
        var edge = Assert.Single(hook.Next);
        Assert.Equal(("store", EdgeConditionKind.Expression, "state.data.classification == \"CONFIRMED\""), (edge.Target, edge.Condition, edge.Expression));
        Assert.Equal((53, 25), (edge.Location.Line, edge.Location.Column));
        var store = Assert.Single(intake.Steps);
        Assert.Equal(("mappings/case.csv", null, null), (store.Map, store.Code, store.Adaptor));
    }

    [Fact]
    public void Defaults_apply_when_keys_are_left_out()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                triggers: { hook: { type: webhook } }
                retry: { attempts: 2 }
                steps: { a: { code: return state; } }
            """);
        result.AssertNoErrors();
        var workflow = result.Project!.Workflows[0];
        var hook = workflow.Triggers[0];
        Assert.Equal(("none", "before_start", true, null), (hook.Auth, hook.Reply, hook.Enabled, hook.Path));
        Assert.Equal(["json"], hook.ContentTypes);
        Assert.Null(hook.MaxBodyBytes);
        Assert.Equal(new RetrySpec(2, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(10)), workflow.Retry);
        Assert.True(workflow.Enabled);
        Assert.Null(result.Project.Retention);
        var start = Assert.Single(ProjectGraph.StartSteps(workflow, hook));
        Assert.Equal("a", start.Id);
    }
}
