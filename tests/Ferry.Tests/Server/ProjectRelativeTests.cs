using Ferry.Server.Projects;

namespace Ferry.Tests.Server;

public sealed class ProjectRelativeTests
{
    [Fact]
    public void Locations_in_a_version_folder_are_shown_relative_to_the_project_whether_written_full_or_relative_to_the_working_directory()
    {
        var folder = Path.Combine(Environment.CurrentDirectory, ".ferry", "versions", "case-sync", "1");
        var full = $"{Path.Combine(folder, "jobs", "upsert.csx")}:2:1: boom";
        var relative = $"{Path.Combine(".ferry", "versions", "case-sync", "1", "jobs", "upsert.csx")}:2:1: boom";

        Assert.Equal("jobs/upsert.csx:2:1: boom", DeployedProjects.ProjectRelative(full, folder));
        Assert.Equal("jobs/upsert.csx:2:1: boom", DeployedProjects.ProjectRelative(relative, folder));
        Assert.Equal("no location here", DeployedProjects.ProjectRelative("no location here", folder));
    }
}
