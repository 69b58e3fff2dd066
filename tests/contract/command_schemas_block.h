// The generated part of docs/openapi.yaml: every command body's schema (from
// the parser's field tables, schema/json_codec.h command_json_schemas) and the
// `Command` oneOf with `type` as its discriminator, and the shared kinds
// (Country, CurrencyCode, OfferId, Timestamp), one YAML
// line each (a JSON value is YAML). Written by generate_command_schemas, checked by
// OpenApi.TheCommandSchemasAreTheParsers.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "schema/field_rules.h"
#include "schema/json_codec.h"

namespace accountable {

inline constexpr const char* kCommandSchemasBegin =
    "    # BEGIN generated command schemas (tests/contract/generate_command_schemas.cc: do not edit by hand)\n";
inline constexpr const char* kCommandSchemasEnd = "    # END generated command schemas\n";

inline std::string command_schemas_block() {
  namespace json = boost::json;
  const json::object schemas = command_json_schemas();
  json::array one_of;
  json::object mapping;
  for (const auto& kv : schemas) {
    const std::string name(kv.key());
    if (!accepted_as_command_text(name.substr(0, name.size() - std::string("Command").size()))) continue;
    const std::string ref = "#/components/schemas/" + name;
    one_of.push_back(json::object{{"$ref", ref}});
    mapping[name.substr(0, name.size() - std::string("Command").size())] = ref;
  }
  std::string out = kCommandSchemasBegin;
  out += "    Command: " +
         json::serialize(json::object{{"oneOf", std::move(one_of)},
                                      {"discriminator", json::object{{"propertyName", "type"},
                                                                     {"mapping", std::move(mapping)}}}}) +
         "\n";
  for (const auto& kv : schemas) {
    const std::string name(kv.key());
    if (!accepted_as_command_text(name.substr(0, name.size() - std::string("Command").size()))) continue;
    out += "    " + name + ": " + json::serialize(kv.value()) + "\n";
  }
  // The kinds the routes' parameters share with the commands (schema/field_rules.h).
  for (const auto& [name, kind] : {std::pair{"Country", FieldKind::kCountry}, std::pair{"CurrencyCode", FieldKind::kCurrency},
                                   std::pair{"OfferId", FieldKind::kOfferId}}) {
    json::object o{{"type", "string"}};
    for (auto& kv : field_rule_schema(FieldRule{name, kind})) o[kv.key()] = kv.value();
    out += "    " + std::string(name) + ": " + json::serialize(o) + "\n";
  }
  // What parse_timestamp accepts: the commands' times and the routes' time parameters.
  out += "    Timestamp: " +
         json::serialize(json::object{
             {"type", "string"},
             {"pattern", json::string_view(kTimestampPattern.data(), kTimestampPattern.size())},
             {"example", "2026-11-24T13:00:00Z"}}) +
         "\n";
  out += kCommandSchemasEnd;
  return out;
}

}  // namespace accountable
