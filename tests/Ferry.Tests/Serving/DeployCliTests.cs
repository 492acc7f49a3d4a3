using Ferry.Tests.Cli;

namespace Ferry.Tests.Serving;

/// <summary>`ferry deploy` and `ferry pull` (the real executable) against a running server.</summary>
public sealed class DeployCliTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("ferry-deploy-cli").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Deploy_shows_the_diff_creates_versions_and_pull_writes_the_version_back()
    {
        await using var server = await RunningServer.StartAsync();
        var url = server.Client.BaseAddress!.ToString();
        var token = server.Api.DefaultRequestHeaders.Authorization!.Parameter!;
        var project = Path.Combine(_work, "hello");
        Directory.CreateDirectory(Path.Combine(project, "jobs"));
        File.WriteAllText(Path.Combine(project, "ferry.yaml"), "name: hello\nworkflows:\n  w:\n    steps:\n      s:\n        code: jobs/s.csx\n");
        File.WriteAllText(Path.Combine(project, "jobs", "s.csx"), "state.n = 1;\n");

        var first = await FerryProcess.RunAsync(_work, "deploy", project, "--server", url, "--token", token, "--yes");
        File.WriteAllText(Path.Combine(project, "jobs", "s.csx"), "state.n = 2;\nstate.m = 3;\n");
        var second = await FerryProcess.RunAsync(_work, "deploy", project, "--server", url, "--token", token, "--yes");
        var unchanged = await FerryProcess.RunAsync(_work, "deploy", project, "--server", url, "--token", token, "--yes");
        var noConfirm = await FerryProcess.RunAsync(_work, "deploy", project, "--server", url, "--token", token);
        var pulled = await FerryProcess.RunAsync(_work, "pull", "hello", "--server", url, "--token", token, "--version", "1", "-o", Path.Combine(_work, "v1"));
        var badToken = await FerryProcess.RunAsync(_work, "deploy", project, "--server", url, "--token", "ferry_nope", "--yes");

        Assert.True(first.ExitCode == 0, first.All);
        Assert.Contains("+ jobs/s.csx", first.Stderr);
        Assert.Contains("Deployed hello v1", first.Stderr);
        Assert.True(second.ExitCode == 0, second.All);
        Assert.Contains("~ jobs/s.csx (+2 -1 lines)", second.Stderr);
        Assert.Contains("Deployed hello v2", second.Stderr);
        Assert.Contains("nothing to deploy", unchanged.Stderr);
        Assert.Equal(0, noConfirm.ExitCode); // identical: nothing to confirm
        Assert.True(pulled.ExitCode == 0, pulled.All);
        Assert.Equal("state.n = 1;\n", File.ReadAllText(Path.Combine(_work, "v1", "jobs", "s.csx")));
        Assert.Equal(2, badToken.ExitCode);
        Assert.Contains("401", badToken.Stderr);
    }
}
