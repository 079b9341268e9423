// A nesting limit for JSON that comes from outside (config files, --set values, safetensors headers,
// checkpoint state). nlohmann::json parses any depth without recursion, but dumping, comparing and
// walking a value recurse, so a document of a few hundred kilobytes of '[' overflows the stack later.
#pragma once
#include <nlohmann/json.hpp>

namespace frugal {

// frugal's own documents nest at most 6 levels; 64 leaves room for any hand-written config.
constexpr int kMaxJsonDepth = 64;

// A parser callback for Json::parse(text, callback) that throws what `error()` returns as soon as the
// document nests deeper than kMaxJsonDepth; it keeps every value otherwise.
template <class Json, class MakeError>
typename Json::parser_callback_t json_depth_limit(MakeError error) {
  return [error](int depth, typename Json::parse_event_t, Json&) {
    if (depth > kMaxJsonDepth) throw error();
    return true;
  };
}

}  // namespace frugal
