using Ferry.Storage;

namespace Ferry.Tests.Storage;

public class TimeOrderedIdsTests
{
    [Fact]
    public void An_id_is_a_version_7_uuid_carrying_its_time()
    {
        var time = new DateTimeOffset(2026, 12, 5, 8, 30, 15, 123, TimeSpan.Zero);
        var id = TimeOrderedIds.New(time);
        Assert.Equal(7, id.Version);
        var text = id.ToString("N");
        Assert.Contains(text[16], "89ab"); // the RFC 9562 variant: bits 10

        Assert.Equal(time.ToUnixTimeMilliseconds(), Convert.ToInt64(text[..12], 16));
    }

    [Fact]
    public void Ids_are_distinct_across_refills_of_the_random_block_and_across_threads()
    {
        var time = DateTimeOffset.UtcNow;
        var ids = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 2_000; i++) ids.Add(TimeOrderedIds.New(time)); // 256 ids per block: several refills each
        });
        Assert.Equal(8_000, ids.Distinct().Count());
        // 74 random bits per id: within one millisecond no bit position is stuck (a block reused or left unfilled).
        var random = ids.Select(id => Convert.ToUInt64(id.ToString("N")[17..], 16)).ToList();
        var seen = random.Aggregate(0UL, (any, r) => any | r);
        var always = random.Aggregate(ulong.MaxValue, (all, r) => all & r);
        Assert.Equal((1UL << 60) - 1, seen); // every random bit of rand_b was 1 somewhere …
        Assert.Equal(0UL, always);            // … and 0 somewhere
    }

    [Fact]
    public void Later_ids_sort_after_earlier_ones_as_text()
    {
        var start = new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 50).Select(i => TimeOrderedIds.New(start.AddMilliseconds(i * 7)).ToString("D")).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
    }

    [Fact]
    public void A_time_before_1970_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TimeOrderedIds.New(new DateTimeOffset(1969, 12, 31, 0, 0, 0, TimeSpan.Zero)));
    }
}
