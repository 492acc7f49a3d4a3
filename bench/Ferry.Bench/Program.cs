// Ferry benchmarks: `dotnet run -c Release --project bench/Ferry.Bench -- <name>` (see docs/benchmarks.md).
Console.Error.WriteLine("usage: Ferry.Bench <benchmark>");
return 2;
