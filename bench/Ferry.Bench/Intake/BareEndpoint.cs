using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Ferry.Bench.Intake;

/// <summary>
/// The baseline of the intake benchmark: a bare ASP.NET Core POST endpoint that reads the body and answers 202,
/// persisting nothing — the ceiling for HTTP intake on this machine. `Ferry.Bench bare-endpoint URL`.
/// </summary>
internal static class BareEndpoint
{
    public static async Task<int> Run(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(args.Length > 0 ? args[0] : "http://127.0.0.1:4999");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/i/{project}/{workflow}/{trigger}", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            await reader.ReadToEndAsync();
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            await context.Response.WriteAsync("""{"workOrderId":"00000000-0000-0000-0000-000000000000","runId":"00000000-0000-0000-0000-000000000000"}""");
        });
        await app.RunAsync();
        return 0;
    }
}
