using System.Buffers.Binary;
using System.Text;
using Ferry.Server.Journal;
using Ferry.Storage;

namespace Ferry.Tests.Server;

/// <summary>The intake journal's files: what was appended comes back after a reopen (and only that: neither torn
/// writes nor records of a file's earlier use), damage is reported and read past, files are reused once stored, and
/// the earlier format's segments are still read.</summary>
public sealed class IntakeJournalTests : IDisposable
{
    private const long SmallFile = 16 * 1024;
    private readonly string _dir = Path.Combine(Directory.CreateTempSubdirectory("ferry-journal").FullName, "journal");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_dir)!, recursive: true);

    private static JournalEntry Entry(int n, RetryPolicy? retry = null) =>
        new(new EnqueuedRun(Guid.CreateVersion7(), Guid.CreateVersion7()), "p", "w", "hook", 3, retry,
            DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000 + n), Encoding.UTF8.GetBytes($$$"""{"data":{"n":{{{n}}},"name":"Amina Okello é"},"request":{"method":"POST"}}"""));

    private static int N(JournalEntry entry) => (int)(entry.ReceivedAt.ToUnixTimeMilliseconds() - 1_790_000_000_000);

    private string[] Files() => Directory.GetFiles(_dir, "journal-*.dat").Order().ToArray();

    private IntakeJournal Open() => IntakeJournal.Open(_dir, SmallFile);

    [Fact]
    public void Appended_entries_come_back_in_order_with_their_ids_trigger_retry_time_and_state_after_a_reopen()
    {
        var written = Enumerable.Range(0, 50).Select(n => Entry(n, n % 2 == 0 ? new RetryPolicy(4, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5)) : null)).ToList();
        using (var journal = Open())
        {
            Assert.Empty(journal.Recovered);
            journal.Append(written.Take(20).ToList());
            journal.Append(written.Skip(20).ToList());
        }

        using var reopened = Open();
        Assert.Equal(50, reopened.Recovered.Count);
        for (var i = 0; i < 50; i++)
        {
            var (a, b) = (written[i], reopened.Recovered[i]);
            Assert.Equal((a.Ids, a.Project, a.Workflow, a.Trigger, a.Version, a.ReceivedAt), (b.Ids, b.Project, b.Workflow, b.Trigger, b.Version, b.ReceivedAt));
            Assert.Equal(a.Retry, b.Retry);
            Assert.Equal(Encoding.UTF8.GetString(a.StateJson.Span), Encoding.UTF8.GetString(b.StateJson.Span));
        }
        Assert.Empty(reopened.Warnings);
    }

    [Fact]
    public void A_journal_file_is_made_full_size_once_and_then_written_in_place()
    {
        using var journal = Open();
        var file = Assert.Single(Files());
        Assert.Equal(SmallFile, new FileInfo(file).Length);
        journal.Append([Entry(1), Entry(2)]);
        Assert.Equal(SmallFile, new FileInfo(file).Length);
    }

    [Fact]
    public void A_write_torn_by_a_crash_at_the_end_is_not_read_and_not_reported()
    {
        using (var journal = Open()) journal.Append([Entry(1), Entry(2)]);
        var file = Assert.Single(Files());
        var end = EndOfRecords(file);
        // A write that never finished: a header promising 500 bytes, and 7 of them.
        WriteAt(file, end, [0xF4, 0x01, 0, 0, 1, 2, 3, 4, (byte)'{', (byte)'"', 1, 2, 3, 4, 5]);

        using var reopened = Open();
        Assert.Equal([1, 2], reopened.Recovered.Select(N));
        Assert.Empty(reopened.Warnings);
    }

    [Fact]
    public void A_damaged_record_is_reported_with_its_byte_range_kept_aside_and_the_records_after_it_are_still_read()
    {
        using (var journal = Open()) journal.Append([Entry(1), Entry(2), Entry(3)]);
        var file = Assert.Single(Files());
        var bytes = File.ReadAllBytes(file);
        var second = IntakeJournal.HeaderBytes + 8 + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(IntakeJournal.HeaderBytes));
        var third = second + 8 + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(second));
        bytes[second + 20] ^= 0x55; // flip bits inside the second record's JSON
        File.WriteAllBytes(file, bytes);

        using var reopened = Open();
        Assert.Equal([1, 3], reopened.Recovered.Select(N));
        var warning = Assert.Single(reopened.Warnings);
        Assert.Contains($"bytes {second}-{third}", warning, StringComparison.Ordinal);
        Assert.Equal(third - second, new FileInfo($"{file}.damaged-{second}").Length);
    }

    [Fact]
    public void A_second_server_on_the_same_journal_is_refused_with_the_folder_named()
    {
        using var first = Open();
        var error = Assert.Throws<InvalidOperationException>(() => IntakeJournal.Open(_dir));
        Assert.Contains(_dir, error.Message, StringComparison.Ordinal);
        Assert.Contains("--data", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stored_entries_are_not_read_again_once_every_entry_is_stored_and_the_rest_are()
    {
        using (var journal = Open())
        {
            journal.Append([Entry(1), Entry(2)]);
            journal.Append([Entry(3)]);
            journal.Stored(2); // entry 3 still waits: the file keeps all three
        }
        using (var journal = Open())
        {
            Assert.Equal([1, 2, 3], journal.Recovered.Select(N));
            journal.Stored(3); // all stored: the file starts over
            journal.Append([Entry(4)]);
        }
        using var reopened = Open();
        Assert.Equal([4], reopened.Recovered.Select(N));
        Assert.Empty(reopened.Warnings);
    }

    [Fact]
    public void A_full_file_is_followed_by_another_and_files_are_reused_once_their_entries_are_stored()
    {
        var next = 0;
        using (var journal = Open())
        {
            // About 40 entries fill a 16 KB file.
            for (var i = 0; i < 20; i++) journal.Append(Enumerable.Range(0, 5).Select(_ => Entry(next++)).ToList());
            Assert.True(Files().Length >= 3, $"{Files().Length} files for 100 entries");
            journal.Stored(95);
            // The current file and one spare stay; other free files are deleted.
            Assert.Equal(2, Files().Length);
            for (var i = 0; i < 12; i++) journal.Append(Enumerable.Range(0, 5).Select(_ => Entry(next++)).ToList());
            Assert.True(Files().Length <= 3, $"{Files().Length} files");
        }
        using var reopened = Open();
        // Entries 95..159 were never stored. A file keeps all its entries until every one is stored, so the stored
        // entries that share the file of entry 95 come back too (the mover skips them); the files freed and reused do not.
        var back = reopened.Recovered.Select(N).ToList();
        Assert.Equal(Enumerable.Range(back[0], 160 - back[0]), back);
        Assert.InRange(back[0], 60, 95);
        Assert.Empty(reopened.Warnings);
    }

    [Fact]
    public void A_batch_larger_than_a_file_goes_whole_into_one()
    {
        var big = Enumerable.Range(0, 400).Select(n => Entry(n)).ToList();
        using (var journal = Open()) journal.Append(big);
        using var reopened = Open();
        Assert.Equal(Enumerable.Range(0, 400), reopened.Recovered.Select(N));
    }

    [Fact]
    public void Recovered_entries_stay_on_disk_until_stored_even_after_new_appends()
    {
        using (var journal = Open()) journal.Append([Entry(1)]);
        using (var journal = Open())
        {
            Assert.Equal([1], journal.Recovered.Select(N));
            journal.Append([Entry(2)]);
            Assert.Equal(2, Files().Length); // the recovered entry's file and a new one
            journal.Stored(1);
        }
        using var reopened = Open();
        Assert.Equal([2], reopened.Recovered.Select(N));
    }

    [Fact]
    public void Segments_of_the_earlier_format_are_read_first_and_deleted_once_stored()
    {
        Directory.CreateDirectory(_dir);
        var legacy = Path.Combine(_dir, "00000000000000000007.log");
        File.WriteAllBytes(legacy, [.. LegacyRecord(Entry(1)), .. LegacyRecord(Entry(2))]);
        using (var journal = Open())
        {
            Assert.Equal([1, 2], journal.Recovered.Select(N));
            journal.Append([Entry(3)]);
            journal.Stored(2);
            Assert.False(File.Exists(legacy));
        }
        using var reopened = Open();
        Assert.Equal([3], reopened.Recovered.Select(N));
    }

    /// <summary>A record as the earlier format wrote it: [u32 length][u32 CRC-32C of the payload][payload].</summary>
    private static byte[] LegacyRecord(JournalEntry entry)
    {
        var payload = Encoding.UTF8.GetBytes($$"""{"workOrderId":"{{entry.Ids.WorkOrderId}}","runId":"{{entry.Ids.RunId}}","project":"{{entry.Project}}","workflow":"{{entry.Workflow}}","trigger":"{{entry.Trigger}}","version":{{entry.Version}},"receivedAt":{{entry.ReceivedAt.ToUnixTimeMilliseconds()}},"state":{{Encoding.UTF8.GetString(entry.StateJson.Span)}}}""");
        var record = new byte[8 + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(record, payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), Crc32C(payload));
        payload.CopyTo(record, 8);
        return record;
    }

    private static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data) crc = System.Numerics.BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    private static long EndOfRecords(string file)
    {
        var bytes = File.ReadAllBytes(file);
        var offset = IntakeJournal.HeaderBytes;
        while (BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset)) is var length and > 0) offset += 8 + length;
        return offset;
    }

    private static void WriteAt(string file, long offset, byte[] bytes)
    {
        using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Write);
        RandomAccess.Write(handle, bytes, offset);
    }
}
