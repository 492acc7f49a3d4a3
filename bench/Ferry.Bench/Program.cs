// Ferry benchmarks: `dotnet run -c Release --project bench/Ferry.Bench -- <name>` (see docs/benchmarks.md).
return args.FirstOrDefault() switch
{
    "mapping" => Ferry.Bench.Mapping.MappingBenchmark.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Ferry.Bench <benchmark> [options]   benchmarks: mapping [records]");
    return 2;
}
