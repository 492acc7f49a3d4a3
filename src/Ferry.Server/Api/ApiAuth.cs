using System.Security.Cryptography;
using Ferry.Server.Auth;
using Ferry.Storage;

namespace Ferry.Server.Api;

/// <summary>
/// Bearer API tokens for every <c>/api</c> endpoint. Only a SHA-256 of each token is stored; a revoked or unknown
/// token gets 401. (Per-project roles come with users; today every valid token is an admin token.)
/// </summary>
internal sealed class ApiAuth(FerryStore store) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var header = context.HttpContext.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return Refuse(context.HttpContext, "Send 'Authorization: Bearer <token>' with an API token.");
        var token = header[scheme.Length..].Trim();
        if (!ApiTokens.TryGetId(token, out var id)) return Refuse(context.HttpContext, "The token is not a Ferry API token (they start with 'ferry_').");
        var record = await store.GetApiTokenAsync(id, context.HttpContext.RequestAborted);
        if (record is null || record.RevokedAt is not null || !ApiTokens.Verify(token, Convert.FromHexString(record.HashHex)))
            return Refuse(context.HttpContext, "The token is unknown or revoked. Create a new one on the server.");
        context.HttpContext.Items["ferry.user"] = record.Name;
        return await next(context);
    }

    private static IResult Refuse(HttpContext http, string detail)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return Problems.Of(StatusCodes.Status401Unauthorized, "Unauthorized", detail, "Authorization");
    }

    /// <summary>Creates an admin token when the server has none (first start); returns it to be shown once.</summary>
    public static async Task<string?> BootstrapAsync(FerryStore store, CancellationToken ct)
    {
        if (await store.CountApiTokensAsync(ct) > 0) return null;
        var created = ApiTokens.Create();
        await store.SaveApiTokenAsync(created.Id, Convert.ToHexString(created.Hash), "admin", "admin", ct);
        CryptographicOperations.ZeroMemory(created.Hash);
        return created.Token;
    }
}
