// Atomic file replacement: write to a temporary beside the file, ".<name>.tinycnn-tmp-<pid>",
// check every write, fsync it, rename it over <path>, fsync the directory. A crash leaves either
// the old file or the new one, and perhaps the temporary, which remove_stale_temporaries clears.
#pragma once

#include <string>
#include <vector>

namespace tinycnn::io {

// Throws core::Error (Runtime) naming the file when any step fails; the temporary is removed.
// Only a regular file is replaced: a path naming a device, a FIFO or a socket is refused.
void write_file_atomically(const std::string& path, const std::string& contents);

// Throws core::Error naming the path unless write_file_atomically could create it now: the path
// is not empty (Invalid), names no folder, device, FIFO or socket, and none of `inputs` (the
// command's input files: writing over one would destroy it; Invalid); its folder exists and is
// writable (Runtime). For checking an output path before the work that produces its contents.
void check_writable(const std::string& path, const std::vector<std::string>& inputs = {});

// The temporary write_file_atomically uses for `path` in this process.
std::string temporary_path(const std::string& path);

// Removes the temporaries in `dir` that write_file_atomically left behind in processes that are
// gone (by name: ".<file>.tinycnn-tmp-<pid>" with no process <pid>); nothing else. Returns how
// many it removed.
int remove_stale_temporaries(const std::string& dir);

}  // namespace tinycnn::io
