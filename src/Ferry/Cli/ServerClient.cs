using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Ferry.Diagnostics;
using Ferry.Json;

namespace Ferry.Cli;

/// <summary>The CLI's side of the server API (deploy, pull): bearer token from --token or FERRY_TOKEN, clear errors.</summary>
internal sealed class ServerClient : IDisposable
{
    private readonly HttpClient _http;

    public ServerClient(string? server, string? token)
    {
        server ??= Environment.GetEnvironmentVariable("FERRY_SERVER");
        token ??= Environment.GetEnvironmentVariable("FERRY_TOKEN");
        if (string.IsNullOrWhiteSpace(server) || !Uri.TryCreate(server, UriKind.Absolute, out var baseUri))
            throw new FerryInputException("FERRY620", "No server given.", null, "Pass --server https://ferry.example.org (or set FERRY_SERVER).");
        if (string.IsNullOrWhiteSpace(token))
            throw new FerryInputException("FERRY621", "No API token given.", null, "Pass --token, or set FERRY_TOKEN to a token made on the server (ferry serve prints the first one).");
        _http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromMinutes(2) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Server = baseUri;
    }

    public Uri Server { get; }

    /// <summary>GET a JSON resource; null on 404.</summary>
    public async Task<object?> GetAsync(string path, CancellationToken ct)
    {
        using var response = await Send(() => _http.GetAsync(path, ct));
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        return await Read(response, ct);
    }

    public async Task<object?> PostAsync(string path, string json, CancellationToken ct)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await Send(() => _http.PostAsync(path, content, ct));
        return await Read(response, ct);
    }

    private async Task<HttpResponseMessage> Send(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            return await send();
        }
        catch (HttpRequestException e)
        {
            throw new FerryInputException("FERRY622", $"Cannot reach {Server}: {e.Message}", null, "Check --server and that `ferry serve` is running there.");
        }
    }

    private static async Task<object?> Read(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        if (response.IsSuccessStatusCode) return body.Length == 0 ? null : Js.Parse(body, "server response");
        var detail = body;
        try
        {
            if (Js.Parse(body) is JsObject problem) detail = $"{problem["title"]}: {problem["detail"]}".Trim(' ', ':');
        }
        catch (FerryInputException)
        {
            // not a problem document: show the text
        }
        var hint = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => "The token was refused: check FERRY_TOKEN / --token.",
            HttpStatusCode.Forbidden => "The token's user may not do this on this project (needs editor or above).",
            _ => "See the server's message above.",
        };
        throw new FerryInputException("FERRY623", $"The server answered {(int)response.StatusCode} {response.ReasonPhrase}: {(detail.Length > 2000 ? detail[..2000] : detail)}", null, hint);
    }

    public void Dispose() => _http.Dispose();
}
