// Ferry benchmarks. `dotnet run -c Release --project bench/Ferry.Bench -- <name> [args]`; see docs/benchmarks.md.
return args.FirstOrDefault() switch
{
    "engine" => await Ferry.Bench.Engine.EngineOverheadBenchmark.Run(args[1..]),
    "coldstart" => Ferry.Bench.Engine.ColdStartBenchmark.Run(args[1..]),
    "mapping" => Ferry.Bench.Mapping.MappingBenchmark.Run(args[1..]),
    "cli-mapping" => Ferry.Bench.Mapping.CliMappingBenchmark.Run(args[1..]),
    "store" => await Ferry.Bench.Store.StoreBenchmark.Run(args[1..]),
    "retention" => await Ferry.Bench.Store.RetentionBenchmark.Run(args[1..]),
    "bare-endpoint" => await Ferry.Bench.Intake.BareEndpoint.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Ferry.Bench engine [iterations] | coldstart [ferry.dll] [runs] | mapping [records] [--once] | cli-mapping [ferry.dll] [records] [runs] | store [sqlite|postgres://CONNSTRING] [work orders] [batch] | retention [sqlite|postgres://CONNSTRING] [work orders] | bare-endpoint [url]  (bench/intake.sh drives wrk)");
    return 2;
}
