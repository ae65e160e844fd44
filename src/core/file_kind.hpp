// What a path names, in words for an error message: the readers and writers accept regular
// files only (a FIFO would block a reader forever; a device must not be replaced by a file).
#pragma once

#include <string>

namespace tinycnn::core {

// "" for a regular file (symbolic links followed); "nothing" when the path does not exist;
// otherwise "a directory", "a character device", "a block device", "a FIFO", "a socket" or
// "not a regular file".
std::string file_kind(const std::string& path);

}  // namespace tinycnn::core
