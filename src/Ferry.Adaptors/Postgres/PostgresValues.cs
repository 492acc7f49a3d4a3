using System.Data.Common;
using System.Globalization;
using Ferry.Json;
using Npgsql;
using NpgsqlTypes;

namespace Ferry.Adaptors.Postgres;

/// <summary>
/// JSON state values to and from PostgreSQL. Values always travel as parameters. Numbers and booleans are sent
/// typed (integer, bigint, double precision, numeric, boolean). Strings, objects and arrays are sent as
/// <em>untyped</em> text, exactly like a quoted literal in SQL: PostgreSQL gives them the type the context needs,
/// so an ISO date string fills a <c>date</c> or <c>timestamptz</c> column, a UUID string a <c>uuid</c> column and an
/// object or array a <c>json</c>/<c>jsonb</c> column, with PostgreSQL's own validation. Where the context does not
/// fix a type (<c>SELECT @x</c>), the value is text; cast in SQL when needed (<c>@since::timestamptz</c>).
/// </summary>
internal static class PostgresValues
{
    public static NpgsqlParameter Parameter(object? value, string? name = null)
    {
        var p = name is null ? new NpgsqlParameter() : new NpgsqlParameter { ParameterName = name };
        switch (value)
        {
            case null:
                p.Value = DBNull.Value;
                p.NpgsqlDbType = NpgsqlDbType.Unknown;
                break;
            case bool b:
                p.Value = b;
                p.NpgsqlDbType = NpgsqlDbType.Boolean;
                break;
            case int i:
                p.Value = i;
                p.NpgsqlDbType = NpgsqlDbType.Integer;
                break;
            case long l:
                p.Value = l;
                p.NpgsqlDbType = NpgsqlDbType.Bigint;
                break;
            case double d:
                p.Value = d;
                p.NpgsqlDbType = NpgsqlDbType.Double;
                break;
            case decimal m:
                p.Value = m;
                p.NpgsqlDbType = NpgsqlDbType.Numeric;
                break;
            case string s:
                p.Value = s;
                p.NpgsqlDbType = NpgsqlDbType.Unknown;
                break;
            default:
                p.Value = Js.ToJson(value);
                p.NpgsqlDbType = NpgsqlDbType.Unknown;
                break;
        }
        return p;
    }

    /// <summary>Reads every row of <paramref name="reader"/> as JSON objects keyed by column name.</summary>
    public static async Task<JsArray> ReadRowsAsync(DbDataReader reader, Func<string, Exception> refuse, CancellationToken ct)
    {
        var rows = new JsArray();
        var names = ColumnNames(reader, refuse);
        while (await reader.ReadAsync(ct))
        {
            var row = new JsObject(names.Length);
            for (var i = 0; i < names.Length; i++) row.Set(names[i], Read(reader, i));
            rows.Add(row);
        }
        return rows;
    }

    public static string[] ColumnNames(DbDataReader reader, Func<string, Exception> refuse)
    {
        var names = new string[reader.FieldCount];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = reader.GetName(i);
            if (!seen.Add(names[i]))
                throw refuse($"The result has two columns named '{names[i]}'; give them distinct names with AS (e.g. SELECT p.id AS patient_id, v.id AS visit_id).");
        }
        return names;
    }

    /// <summary>One column value as a JSON state value.</summary>
    public static object? Read(DbDataReader reader, int i)
    {
        if (reader.IsDBNull(i)) return null;
        switch (reader.GetDataTypeName(i))
        {
            case "json" or "jsonb":
                return Js.Parse(reader.GetString(i));
            case "date":
                return reader.GetFieldValue<DateOnly>(i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            case "timestamp without time zone":
                return reader.GetDateTime(i).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);
            case "timestamp with time zone":
                return reader.GetFieldValue<DateTimeOffset>(i).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
            case "numeric":
                try { return reader.GetDecimal(i); }
                catch (OverflowException) { return reader.GetFieldValue<string>(i); }
            case "bytea":
                return Convert.ToBase64String(reader.GetFieldValue<byte[]>(i));
        }
        return ToJsonValue(reader.GetValue(i));
    }

    private static object? ToJsonValue(object? value) => value switch
    {
        null or DBNull => null,
        string or bool or int or long or double or decimal => value,
        short or byte or float or Guid or DateTime or DateOnly or TimeOnly or TimeSpan => Js.From(value),
        Array a => new JsArray(a.Cast<object?>().Select(ToJsonValue)),
        _ => System.Convert.ToString(value, CultureInfo.InvariantCulture),
    };
}
