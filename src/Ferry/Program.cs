// The `ferry` command (DESIGN §6). Verbs live in Cli/, one file each.
return await Ferry.Cli.FerryCommand.InvokeAsync(args);
