// Atomic file replacement: write to "<path>.tmp-<pid>", flush and fsync it, rename over
// <path>, fsync the directory. A crash leaves either the old file or the new one.
#pragma once

#include <string>

namespace tinycnn::io {

void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace tinycnn::io
