using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Ferry.Storage;

namespace Ferry.Server.Journal;

/// <summary>Reading the journal back at start: its files' headers and records, and the earlier format's segments.</summary>
public sealed partial class IntakeJournal
{
    private static ReadOnlySpan<byte> Magic => "FERRYJ02"u8;

    /// <summary>Every file of the journal in <paramref name="directory"/>, the entries they hold in order (the earlier
    /// format's segments first, then the files by epoch), what was damaged, and the highest epoch seen.</summary>
    private static (List<JournalFile> Files, List<JournalEntry> Recovered, List<string> Warnings, long LastEpoch) ReadAll(string directory)
    {
        var files = new List<JournalFile>();
        var recovered = new List<JournalEntry>();
        var warnings = new List<string>();
        var legacy = ListLegacySegments(directory);
        foreach (var (number, path) in legacy)
        {
            var before = recovered.Count;
            ReadLegacySegment(path, recovered, warnings, isLast: number == legacy[^1].Number);
            files.Add(new JournalFile(path, legacy: true) { LastEntry = recovered.Count > before ? recovered.Count : 0 });
        }
        var held = new List<(JournalFile File, List<JournalEntry> Entries)>();
        long lastEpoch = 0;
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, "journal-*.dat").Order(StringComparer.Ordinal))
        {
            var file = new JournalFile(path, legacy: false);
            files.Add(file);
            var bytes = File.ReadAllBytes(path);
            // No valid header: the file was being started over when the process stopped, so all it held was stored.
            if (!TryReadHeader(bytes, out var epoch)) continue;
            file.Epoch = epoch;
            lastEpoch = Math.Max(lastEpoch, epoch);
            var entries = new List<JournalEntry>();
            ReadRecords(path, bytes, epoch, entries, warnings);
            if (entries.Count > 0) held.Add((file, entries));
        }
        foreach (var (file, entries) in held.OrderBy(h => h.File.Epoch))
        {
            recovered.AddRange(entries);
            file.LastEntry = recovered.Count;
        }
        return (files, recovered, warnings, lastEpoch);
    }

    private static void WriteHeader(Span<byte> header, long epoch)
    {
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], epoch);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], Crc32C(header[..16]));
    }

    private static bool TryReadHeader(ReadOnlySpan<byte> bytes, out long epoch)
    {
        epoch = 0;
        if (bytes.Length < HeaderBytes || !bytes.StartsWith(Magic) || Crc32C(bytes[..16]) != BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..])) return false;
        epoch = BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]);
        return true;
    }

    /// <summary>
    /// The records of <paramref name="epoch"/> from the start of the file. They end where a record fails its checksum or
    /// has length zero: the file's zeros, or records of an earlier use of the file. If a record of this epoch comes
    /// further on, the bytes in between are damaged (or were a write torn by a crash): they are saved beside the file,
    /// reported, and reading goes on after them.
    /// </summary>
    private static void ReadRecords(string path, byte[] bytes, long epoch, List<JournalEntry> entries, List<string> warnings)
    {
        var offset = HeaderBytes;
        while (true)
        {
            if (TryRecord(bytes, offset, epoch, out var length))
            {
                entries.Add(Parse(bytes.AsSpan(offset + RecordHeaderBytes, length), path, offset));
                offset += RecordHeaderBytes + length;
                continue;
            }
            var next = -1;
            for (var candidate = offset + 1; candidate + RecordHeaderBytes <= bytes.Length && next < 0; candidate++)
            {
                if (TryRecord(bytes, candidate, epoch, out _)) next = candidate;
            }
            if (next < 0) return;
            var saved = $"{path}.damaged-{offset.ToString(CultureInfo.InvariantCulture)}";
            File.WriteAllBytes(saved, bytes[offset..next]);
            warnings.Add($"Intake journal {path}: bytes {offset}-{next} could not be read (damage on disk, or a write torn by a crash); " +
                $"the records after them were read. The bytes are kept in {saved}.");
            offset = next;
        }
    }

    private static bool TryRecord(byte[] bytes, int offset, long epoch, out int length)
    {
        length = 0;
        if (offset + RecordHeaderBytes > bytes.Length) return false;
        var declared = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
        if (declared == 0 || declared > bytes.Length - offset - RecordHeaderBytes) return false;
        length = (int)declared;
        return Crc32C(epoch, bytes.AsSpan(offset + RecordHeaderBytes, length)) == BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 4));
    }

    // ---- the earlier format: numbered segments, appended, truncated when stored ----------------------------------

    private static List<(long Number, string Path)> ListLegacySegments(string directory) =>
        System.IO.Directory.EnumerateFiles(directory, "*.log")
            .Select(path => (Ok: long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var n), Number: n, Path: path))
            .Where(s => s.Ok)
            .Select(s => (s.Number, s.Path))
            .OrderBy(s => s.Number)
            .ToList();

    private static void ReadLegacySegment(string path, List<JournalEntry> entries, List<string> warnings, bool isLast)
    {
        var bytes = File.ReadAllBytes(path);
        var offset = 0;
        while (offset < bytes.Length)
        {
            string? damage = null;
            if (bytes.Length - offset < RecordHeaderBytes) damage = "a record header cut short";
            else
            {
                var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
                if (length > bytes.Length - offset - RecordHeaderBytes) damage = "a record cut short";
                else
                {
                    var payload = bytes.AsSpan(offset + RecordHeaderBytes, (int)length);
                    if (Crc32C(payload) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 4))) damage = "a record failing its checksum";
                    else
                    {
                        entries.Add(Parse(payload, path, offset));
                        offset += RecordHeaderBytes + (int)length;
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
    private static uint Crc32C(ReadOnlySpan<byte> data) => ~Crc32C(0xFFFFFFFFu, data);

    /// <summary>CRC-32C of <paramref name="epoch"/> (8 bytes, little-endian) followed by <paramref name="data"/>: a
    /// record's checksum, which a record written in another epoch of the same file fails.</summary>
    private static uint Crc32C(long epoch, ReadOnlySpan<byte> data) => ~Crc32C(BitOperations.Crc32C(0xFFFFFFFFu, (ulong)epoch), data);

    private static uint Crc32C(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}
