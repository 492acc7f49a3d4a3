using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Ferry.Tests.Cli;

namespace Ferry.Tests.Serving;

/// <summary>
/// The promise of intake: kill -9 a real `ferry serve` during a webhook storm, start it again on the same data, and every
/// request that got a 202 has its work order, and every run finishes (or was lost and retried) — nothing acknowledged is lost.
/// </summary>
public sealed class CrashRecoveryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ferry-crash").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Every_acknowledged_webhook_survives_a_kill_9_during_a_storm_and_its_run_completes_after_restart()
    {
        var project = Path.Combine(_root, "storm");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "ferry.yaml"), """
            name: storm
            workflows:
              intake:
                retry: { attempts: 5, backoff: 1s }
                triggers:
                  hook: { type: webhook }
                steps:
                  record:
                    code: state.data.recorded = true;
            """);
        var data = Path.Combine(_root, "data");
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";

        var (first, token) = await StartServeAsync(data, url, project);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        using var stop = new CancellationTokenSource();
        var senders = Enumerable.Range(0, 8).Select(s => Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested && n < 2_000)
            {
                try
                {
                    using var response = await http.PostAsJsonAsync("/i/storm/intake/hook", new { sender = s, n = n++ });
                    if (response.StatusCode == HttpStatusCode.Accepted)
                        acknowledged.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("workOrderId").GetGuid());
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    return; // the server is gone: what it answered 202 before that is what must survive
                }
            }
        })).ToArray();

        while (acknowledged.Count < 300) await Task.Delay(20);
        first.Kill(entireProcessTree: true); // SIGKILL: no shutdown code runs
        await first.WaitForExitAsync();
        await stop.CancelAsync();
        await Task.WhenAll(senders);
        var acked = acknowledged.ToArray();

        var (second, _) = await StartServeAsync(data, url, project);
        try
        {
            using var api = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
            api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            var pending = acked.ToHashSet();
            while (pending.Count > 0)
            {
                foreach (var id in pending.ToArray())
                {
                    using var response = await api.GetAsync($"/api/work-orders/{id}");
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"work order {id} was acknowledged but is missing after the crash");
                    var status = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("workOrder").GetProperty("status").GetString();
                    Assert.NotEqual("failed", status);
                    if (status == "success") pending.Remove(id);
                }
                if (pending.Count > 0 && DateTime.UtcNow > deadline)
                    Assert.Fail($"{pending.Count} of {acked.Length} acknowledged work orders did not complete after the restart.");
                await Task.Delay(250);
            }
        }
        finally
        {
            second.Kill(entireProcessTree: true);
            await second.WaitForExitAsync();
        }
    }

    private static async Task<(Process Process, string Token)> StartServeAsync(string data, string url, string project)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { FerryProcess.FerryDll, "serve", "--data", data, "--urls", url, "--deploy", project, "--lease", "2" }) info.ArgumentList.Add(a);
        info.Environment["FERRY_CACHE_DIR"] = Path.Combine(data, "cli-cache");
        var process = Process.Start(info)!;
        var token = "";
        process.OutputDataReceived += (_, e) => { if (e.Data?.StartsWith("export FERRY_TOKEN=", StringComparison.Ordinal) == true) token = e.Data["export FERRY_TOKEN=".Length..]; };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                if ((await probe.GetAsync($"{url}/readyz")).IsSuccessStatusCode) return (process, token);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }
            if (process.HasExited) throw new InvalidOperationException($"ferry serve exited with {process.ExitCode} before it was ready.");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("ferry serve was not ready within 60 s.");
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
