using Ferry.Diagnostics;

namespace Ferry.Server.Api;

/// <summary>RFC 9457 problem responses that name the field at fault and say what to do.</summary>
internal static class Problems
{
    public static IResult Of(int status, string title, string detail, string? field = null) =>
        Results.Problem(title: title, detail: detail, statusCode: status,
            extensions: field is null ? null : new Dictionary<string, object?> { ["field"] = field });

    public static IResult NotFound(string what, string field) => Of(StatusCodes.Status404NotFound, "Not found", what, field);

    /// <summary>Every diagnostic of a refused input, with its location.</summary>
    public static IResult Invalid(FerryInputException e, string field) =>
        Results.Problem(title: "Invalid input", detail: e.Diagnostics.Count == 1 ? e.Diagnostics[0].ToString() : $"{e.Diagnostics.Count} problems found.",
            statusCode: StatusCodes.Status422UnprocessableEntity,
            extensions: new Dictionary<string, object?>
            {
                ["field"] = field,
                ["problems"] = e.Diagnostics.Select(d => new { code = d.Code, message = d.Message, location = d.Location?.ToString(), hint = d.Hint }).ToArray(),
            });
}
