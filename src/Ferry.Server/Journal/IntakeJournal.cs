using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Ferry.Storage;

namespace Ferry.Server.Journal;

/// <summary>
/// One accepted webhook request as the journal keeps it until <see cref="IntakeMover"/> has stored it as a work order:
/// the ids its 202 answer gave out, the trigger it came through, and the run's initial state (UTF-8 JSON).
/// </summary>
public sealed record JournalEntry(EnqueuedRun Ids, string Project, string Workflow, string Trigger, int Version, RetryPolicy? Retry,
    DateTimeOffset ReceivedAt, ReadOnlyMemory<byte> StateJson)
{
    /// <summary>The journal segment the entry was written to (set by <see cref="IntakeJournal.Append"/>).</summary>
    public long Segment { get; internal set; }

    /// <summary>The work order the store makes of the entry, with the ids already given out.</summary>
    public NewWorkOrder ToWorkOrder() =>
        new(Project, Workflow, Trigger, Version, System.Text.Encoding.UTF8.GetString(StateJson.Span), Retry, Ids: Ids, ReceivedAt: ReceivedAt);
}

/// <summary>
/// The intake journal: an append-only log of accepted webhook requests in <c>&lt;data&gt;/journal/</c>. A webhook's 202
/// is sent once its batch is written and fsynced here, which costs one sequential write per batch instead of a database
/// transaction; <see cref="IntakeMover"/> then stores the entries as work orders in large batches. At start the entries
/// of every segment still on disk are read back and stored again, idempotently (by work order id), so a crash between
/// the 202 and the database loses nothing.
/// </summary>
/// <remarks>
/// <para>Files: <c>00000000000000000001.log</c>, … (segments, numbered in order) and <c>lock</c>, held exclusively while a
/// server uses the folder. A record is <c>[u32 length][u32 CRC-32C][length bytes of JSON]</c>, little-endian. A record
/// cut short or failing its checksum ends the segment: such a write was never fsynced, so never acknowledged.</para>
/// <para>A segment is deleted once every entry in it is in the database; the writer moves to a new segment when the
/// current one reaches <see cref="SegmentBytes"/>. When the mover has caught up, the current segment is truncated to
/// nothing (one cheap call per mover batch; no file is created or deleted), so a restart replays little.</para>
/// </remarks>
public sealed class IntakeJournal : IDisposable
{
    /// <summary>Size at which the writer starts a new segment.</summary>
    public const long SegmentBytes = 8 * 1024 * 1024;

    private const int HeaderBytes = 8;
    private readonly string _directory;
    private readonly FileStream _lock;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly ArrayBufferWriter<byte> _payload = new(4 * 1024);
    private readonly Utf8JsonWriter _json;
    private readonly Queue<long> _older = new(); // segments before the current one, oldest first, still on disk
    private FileStream _current;
    private long _currentNumber;
    private long _entries;
    private bool _disposed;

    private IntakeJournal(string directory, FileStream lockFile, IEnumerable<long> older, long nextNumber, IReadOnlyList<JournalEntry> recovered)
    {
        foreach (var number in older) _older.Enqueue(number);
        _directory = directory;
        _lock = lockFile;
        _json = new Utf8JsonWriter(_payload);
        Recovered = recovered;
        _entries = recovered.Count;
        _currentNumber = nextNumber;
        _current = OpenSegment(nextNumber);
    }

    /// <summary>Entries found on disk at open, oldest first: acknowledged, perhaps not yet stored.</summary>
    public IReadOnlyList<JournalEntry> Recovered { get; }

    /// <summary>Where the journal lives.</summary>
    public string Directory => _directory;

    /// <summary>Problems found while reading the journal at open (damaged records), for the log.</summary>
    public IReadOnlyList<string> Warnings { get; private init; } = [];

    /// <summary>
    /// Opens (or creates) the journal in <paramref name="directory"/>, takes its lock and reads back every entry still on
    /// disk (<see cref="Recovered"/>). New entries go to a new segment.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another process holds the journal (two servers on one data folder).</exception>
    public static IntakeJournal Open(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(directory, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException(
                $"The intake journal in {directory} is in use by another ferry serve process ({e.Message}). Give each server its own --data folder.", e);
        }
        try
        {
            var segments = ListSegments(directory);
            var recovered = new List<JournalEntry>();
            var warnings = new List<string>();
            foreach (var (number, path) in segments) ReadSegment(number, path, recovered, warnings, isLast: number == segments[^1].Number);
            var next = segments.Count == 0 ? 1 : segments[^1].Number + 1;
            return new IntakeJournal(directory, lockFile, segments.Select(s => s.Number), next, recovered) { Warnings = warnings };
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="entries"/> at the end of the journal and fsyncs it: when this returns they survive a crash
    /// or power cut. Sets each entry's <see cref="JournalEntry.Segment"/>. One caller at a time is served; others wait.
    /// Synchronous on purpose: the write and fsync block anyway, and the intake's group-commit thread calls it directly.
    /// </summary>
    public void Append(IReadOnlyList<JournalEntry> entries, CancellationToken ct = default)
    {
        if (entries.Count == 0) return;
        _writeGate.Wait(ct);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_current.Length >= SegmentBytes) Rotate();
            _buffer.ResetWrittenCount();
            foreach (var entry in entries)
            {
                WriteRecord(entry);
                entry.Segment = _currentNumber;
            }
            var start = _current.Length;
            try
            {
                _current.Write(_buffer.WrittenSpan);
                _current.Flush(flushToDisk: true);
            }
            catch
            {
                // Not acknowledged: cut the partial write off so the next batch does not follow a torn record.
                _current.SetLength(start);
                throw;
            }
            _entries += entries.Count;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// Tells the journal that the first <paramref name="storedCount"/> entries (recovered ones first, then in append
    /// order), the last of them in segment <paramref name="segment"/>, are in the database: older segments are deleted.
    /// When that is every entry the journal holds, the current segment is truncated too, leaving the journal empty.
    /// </summary>
    public void Stored(long storedCount, long segment)
    {
        _writeGate.Wait();
        try
        {
            if (_disposed) return;
            // Checked under the write gate: no batch can be appended between the test and the truncation.
            if (storedCount == _entries)
            {
                if (_current.Length > 0) _current.SetLength(0);
                segment = _currentNumber;
            }
            while (_older.TryPeek(out var number) && number < segment)
            {
                File.Delete(SegmentPath(number));
                _older.Dequeue();
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public void Dispose()
    {
        _writeGate.Wait();
        try
        {
            if (_disposed) return;
            _disposed = true;
            var empty = _current.Length == 0;
            _current.Dispose();
            if (empty) File.Delete(SegmentPath(_currentNumber));
            _json.Dispose();
            _lock.Dispose();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private void Rotate()
    {
        var previous = _current;
        var empty = previous.Length == 0;
        previous.Dispose();
        if (empty) File.Delete(SegmentPath(_currentNumber));
        else _older.Enqueue(_currentNumber);
        _currentNumber++;
        _current = OpenSegment(_currentNumber);
    }

    private FileStream OpenSegment(long number) =>
        new(SegmentPath(number), FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);

    private string SegmentPath(long number) => Path.Combine(_directory, number.ToString("D20", CultureInfo.InvariantCulture) + ".log");

    private static List<(long Number, string Path)> ListSegments(string directory) =>
        System.IO.Directory.EnumerateFiles(directory, "*.log")
            .Select(path => (Ok: long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var n), Number: n, Path: path))
            .Where(s => s.Ok)
            .Select(s => (s.Number, s.Path))
            .OrderBy(s => s.Number)
            .ToList();

    private void WriteRecord(JournalEntry entry)
    {
        _payload.ResetWrittenCount();
        _json.Reset(_payload);
        _json.WriteStartObject();
        _json.WriteString("workOrderId", entry.Ids.WorkOrderId);
        _json.WriteString("runId", entry.Ids.RunId);
        _json.WriteString("project", entry.Project);
        _json.WriteString("workflow", entry.Workflow);
        _json.WriteString("trigger", entry.Trigger);
        _json.WriteNumber("version", entry.Version);
        _json.WriteNumber("receivedAt", entry.ReceivedAt.ToUnixTimeMilliseconds());
        if (entry.Retry is { } retry)
        {
            _json.WriteStartArray("retry");
            _json.WriteNumberValue(retry.Attempts);
            _json.WriteNumberValue((long)retry.Backoff.TotalMilliseconds);
            _json.WriteNumberValue((long)retry.MaxBackoff.TotalMilliseconds);
            _json.WriteEndArray();
        }
        _json.WritePropertyName("state");
        _json.WriteRawValue(entry.StateJson.Span, skipInputValidation: true);
        _json.WriteEndObject();
        _json.Flush();
        var payload = _payload.WrittenSpan;
        var header = _buffer.GetSpan(HeaderBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32C(payload));
        _buffer.Advance(HeaderBytes);
        _buffer.Write(payload);
    }

    private static void ReadSegment(long number, string path, List<JournalEntry> entries, List<string> warnings, bool isLast)
    {
        var bytes = File.ReadAllBytes(path);
        var offset = 0;
        while (offset < bytes.Length)
        {
            string? damage = null;
            if (bytes.Length - offset < HeaderBytes) damage = "a record header cut short";
            else
            {
                var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
                if (length > bytes.Length - offset - HeaderBytes) damage = "a record cut short";
                else
                {
                    var payload = bytes.AsSpan(offset + HeaderBytes, (int)length);
                    if (Crc32C(payload) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 4))) damage = "a record failing its checksum";
                    else
                    {
                        var entry = Parse(payload, path, offset);
                        entry.Segment = number;
                        entries.Add(entry);
                        offset += HeaderBytes + (int)length;
                        continue;
                    }
                }
            }
            // A torn tail is a write that was never fsynced, so never acknowledged: cut it off. Damage before the end of
            // an older segment is disk corruption: say so, loudly, and keep what can be read.
            warnings.Add(isLast
                ? $"Intake journal {path}: {damage} at byte {offset} (a write cut off by a crash, never acknowledged); removed."
                : $"Intake journal {path}: {damage} at byte {offset}, before the end of an older segment; the {bytes.Length - offset} bytes after it could not be read and are left in {path}.damaged.");
            if (isLast)
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
                file.SetLength(offset);
            }
            else
            {
                File.WriteAllBytes(path + ".damaged", bytes[offset..]);
            }
            return;
        }
    }

    private static JournalEntry Parse(ReadOnlySpan<byte> payload, string path, int offset)
    {
        try
        {
            var reader = new Utf8JsonReader(payload);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            RetryPolicy? retry = null;
            if (root.TryGetProperty("retry", out var r) && r.ValueKind == JsonValueKind.Array)
                retry = new RetryPolicy(r[0].GetInt32(), TimeSpan.FromMilliseconds(r[1].GetInt64()), TimeSpan.FromMilliseconds(r[2].GetInt64()));
            return new JournalEntry(
                new EnqueuedRun(root.GetProperty("workOrderId").GetGuid(), root.GetProperty("runId").GetGuid()),
                root.GetProperty("project").GetString()!, root.GetProperty("workflow").GetString()!, root.GetProperty("trigger").GetString()!,
                root.GetProperty("version").GetInt32(), retry, DateTimeOffset.FromUnixTimeMilliseconds(root.GetProperty("receivedAt").GetInt64()),
                System.Text.Encoding.UTF8.GetBytes(root.GetProperty("state").GetRawText()));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException(
                $"Intake journal {path}: the record at byte {offset} passes its checksum but is not a journal entry ({e.Message}). " +
                "Move the file aside to start, and keep it: it holds acknowledged requests.", e);
        }
    }

    /// <summary>CRC-32C (Castagnoli), hardware-accelerated where the CPU has it.</summary>
    private static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }
}
