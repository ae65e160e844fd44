// tinycnn's one exception type and the TCNN_CHECK macro.
// Library code never exits or prints: it throws core::Error, and the CLI maps the kind to an
// exit code (Invalid -> 2, Runtime -> 1). Messages say what, where, and expected versus got.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tinycnn::core {

enum class ErrorKind {
  Invalid,  // bad argument, config or impossible shape: the caller asked for something wrong
  Runtime,  // the world failed: I/O, bad data file, checkpoint mismatch, divergence
};

class Error : public std::runtime_error {
 public:
  // file / line: the throw site (TCNN_CHECK passes __FILE__ and __LINE__).
  Error(ErrorKind kind, const std::string& message, const char* file = "", int line = 0);

  ErrorKind kind() const { return kind_; }
  // "file.cpp:123" of the throw site; for debugging, not for the user-facing line.
  const std::string& where() const { return where_; }

 private:
  ErrorKind kind_;
  std::string where_;
};

// "a, b, c": the items of a list in a message.
inline std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

// The arguments streamed into one string: how every message is put together.
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

}  // namespace tinycnn::core

// Throws core::Error(Invalid) with the streamed message when cond is false.
#define TCNN_CHECK(cond, ...)                                                                 \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      throw ::tinycnn::core::Error(::tinycnn::core::ErrorKind::Invalid,                       \
                                   ::tinycnn::core::concat(__VA_ARGS__), __FILE__, __LINE__); \
    }                                                                                         \
  } while (false)

// Same, for failures of the environment (I/O, data) rather than of the request.
#define TCNN_CHECK_RUNTIME(cond, ...)                                                         \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      throw ::tinycnn::core::Error(::tinycnn::core::ErrorKind::Runtime,                       \
                                   ::tinycnn::core::concat(__VA_ARGS__), __FILE__, __LINE__); \
    }                                                                                         \
  } while (false)
