// The `ferry` command. Verbs are wired in Cli/ (DESIGN §6).
Console.Error.WriteLine("ferry: the command line is being built; see README.md.");
return 2;
