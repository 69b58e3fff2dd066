// The router's matching and target parsing, and the route table against the
// OpenAPI document (every route of the server must be documented).
#include "server/router.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "aggregates/partner.h"
#include "aggregates/roles.h"
#include "schema/enum_names.h"
#include "schema/json_codec.h"
#include "tests/contract/command_schemas_block.h"
#include "server/api.h"

namespace accountable {
namespace {

ApiReply nothing(const ApiRequest&) { return ApiReply{}; }

TEST(Router, MatchesLiteralSegmentsAndParameters) {
  Router r;
  r.add(http::verb::get, "/v1/partners/{id}/catalog", nothing);
  r.add(http::verb::post, "/v1/commands", nothing);
  auto m = r.match(http::verb::get, "/v1/partners/abc/catalog");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("id"), "abc");
  EXPECT_EQ(r.match(http::verb::get, "/v1/partners//catalog").route, nullptr);  // empty parameter
  EXPECT_EQ(r.match(http::verb::get, "/v1/partners/abc/catalog/x").route, nullptr);
  auto wrong_method = r.match(http::verb::get, "/v1/commands");
  EXPECT_EQ(wrong_method.route, nullptr);
  EXPECT_TRUE(wrong_method.path_known);  // 405, not 404
  EXPECT_EQ(wrong_method.allowed, std::vector<http::verb>{http::verb::post});
  EXPECT_FALSE(r.match(http::verb::get, "/v1/nothing").path_known);
  // Every method of the path, once each, for the Allow header.
  r.add(http::verb::delete_, "/v1/commands", nothing);
  r.add(http::verb::post, "/v1/partners/{id}/catalog", nothing);
  EXPECT_EQ(r.match(http::verb::put, "/v1/commands").allowed,
            (std::vector<http::verb>{http::verb::post, http::verb::delete_}));
  EXPECT_EQ(r.match(http::verb::put, "/v1/partners/x/catalog").allowed,
            (std::vector<http::verb>{http::verb::get, http::verb::post}));
}

TEST(Router, ParsesAndDecodesTheTarget) {
  std::string path;
  std::map<std::string, std::string> query;
  ASSERT_TRUE(parse_target("/v1/streams/partner-1?from=2&limit=10&type=A%20B", &path, &query).is_ok());
  EXPECT_EQ(path, "/v1/streams/partner-1");
  EXPECT_EQ(query.at("from"), "2");
  EXPECT_EQ(query.at("type"), "A B");

  query.clear();
  Status nul = parse_target("/v1/streams/a%00b", &path, &query);
  EXPECT_EQ(nul.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(nul.field(), "path");
  EXPECT_EQ(parse_target("/v1/x?q=%zz", &path, &query).field(), "query.q");
  EXPECT_EQ(parse_target("/v1/x?q=%ff", &path, &query).field(), "query.q");  // not UTF-8
  EXPECT_EQ(parse_target("v1/x", &path, &query).field(), "path");
  EXPECT_EQ(parse_target("/v1/x%2", &path, &query).field(), "path");
}

TEST(OpenApi, EveryRouteOfTheServerIsDocumented) {
  const std::string dir = std::filesystem::temp_directory_path() / ("acct-openapi-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  AccountStackOptions options;
  options.data_dir = dir;
  auto stack = AccountStack::open(options);
  ASSERT_TRUE(stack.is_ok()) << stack.status().to_string();
  auto tokens = TokenStore::open(posix_env(), dir, Timestamp{0});
  ASSERT_TRUE(tokens.is_ok()) << tokens.status().to_string();
  Metrics metrics((*stack)->log());
  Api api(**stack, **tokens, metrics, nullptr);
  const std::string_view yaml = Api::openapi_yaml();
  ASSERT_GT(api.router().routes().size(), 10u);
  for (const Route& route : api.router().routes()) {
    const std::string path_line = "\n  " + route.pattern + ":\n";
    const size_t at = yaml.find(path_line);
    ASSERT_NE(at, std::string_view::npos) << route.pattern << " is missing from docs/openapi.yaml";
    // The method must be listed under that path (before the next path).
    const size_t next = yaml.find("\n  /", at + path_line.size());
    const std::string method = "\n    " + std::string(boost::beast::http::to_string(route.method)) + ":";
    std::string lower_method = method;
    for (char& c : lower_method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string_view block = yaml.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at);
    EXPECT_NE(block.find(lower_method), std::string_view::npos)
        << route.pattern << ": method " << boost::beast::http::to_string(route.method) << " is not documented";
  }
  ASSERT_TRUE((*stack)->close().is_ok());
  std::filesystem::remove_all(dir);
}

// A flow list of a schema in the YAML: the first `<key>: [...]` after "    <name>:\n".
std::vector<std::string> yaml_list(std::string_view yaml, const std::string& schema, const std::string& key) {
  const size_t at = yaml.find("\n    " + schema + ":\n");
  if (at == std::string_view::npos) return {};
  const size_t open = yaml.find(key + ": [", at);
  const size_t close = yaml.find(']', open);
  if (open == std::string_view::npos || close == std::string_view::npos) return {};
  std::vector<std::string> out;
  const size_t skip = key.size() + 3;
  std::string_view list = yaml.substr(open + skip, close - open - skip);
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

std::vector<std::string> yaml_enum(std::string_view yaml, const std::string& schema) {
  return yaml_list(yaml, schema, "enum");
}

// What GET /v1/events, /v1/streams and each SSE `data:` line carry is the
// RecordedEvent schema: its required members are exactly the JSON's (a
// decodable event's: data_error only comes with data null).
TEST(OpenApi, TheRecordedEventSchemaIsWhatTheServerSends) {
  const EncodedEvent encoded = encode_event(OfferRetired{"azure-plan", Timestamp{1}});
  RecordedEvent e;
  e.position = GlobalPosition(7);
  e.stream = "catalog";
  e.version = StreamVersion(3);
  e.type = encoded.type;
  e.schema_version = encoded.schema_version;
  e.event_id = EventId::random();
  e.command_id = CommandId::random();
  e.correlation_id = CorrelationId::random();
  e.causation_id = CausationId::random();
  e.actor = "operator:platform";
  e.recorded_at = Timestamp{1};
  e.payload = encoded.bytes;
  const boost::json::object sent = recorded_event_json(e, nullptr);
  std::set<std::string> keys;
  for (const auto& member : sent) keys.emplace(member.key());
  const std::vector<std::string> required = yaml_list(Api::openapi_yaml(), "RecordedEvent", "required");
  EXPECT_EQ(std::set<std::string>(required.begin(), required.end()), keys);
  EXPECT_FALSE(sent.at("data").is_null());
  // An event this build does not know: data null, and data_error says why.
  e.type = "NoSuchEvent";
  const boost::json::object unknown = recorded_event_json(e, nullptr);
  EXPECT_TRUE(unknown.at("data").is_null());
  EXPECT_TRUE(unknown.at("data_error").is_string());
  EXPECT_NE(Api::openapi_yaml().find("data_error: {type: string"), std::string_view::npos);
}

// The served document is the file, byte for byte (it is built in in parts).
TEST(OpenApi, TheServedDocumentIsTheFile) {
  std::ifstream in(std::string(ACCT_SOURCE_DIR) + "/docs/openapi.yaml", std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(Api::openapi_yaml(), file);
}

// POST /v1/commands' body schemas are generated from the parser's field
// tables: the document holds exactly what generate_command_schemas writes.
TEST(OpenApi, TheCommandSchemasAreTheParsers) {
  const std::string_view yaml = Api::openapi_yaml();
  const size_t begin = yaml.find(kCommandSchemasBegin);
  const size_t end = yaml.find(kCommandSchemasEnd);
  ASSERT_NE(begin, std::string_view::npos);
  ASSERT_NE(end, std::string_view::npos);
  const std::string_view block = yaml.substr(begin, end + std::string_view(kCommandSchemasEnd).size() - begin);
  EXPECT_EQ(block, command_schemas_block()) << "stale: run ./build-test/generate_command_schemas";
  EXPECT_NE(yaml.find("schema: {$ref: \"#/components/schemas/Command\"}"), std::string_view::npos);
  // Not a body POST /v1/commands takes: the new password travels beside it (POST /v1/me/password).
  EXPECT_EQ(yaml.find("ChangePasswordCommand"), std::string_view::npos);
}

// Every command of the parser has a schema, and a command of docs/commands.md
// parses: its JSON validates against its schema's required members and
// property names (a schema-valid body is one the parser takes the shape of).
TEST(OpenApi, EveryCommandHasASchemaWithItsFields) {
  const boost::json::object schemas = command_json_schemas();
  EXPECT_EQ(schemas.size(), std::variant_size_v<Command>);
  const boost::json::object& enroll = schemas.at("EnrollPartnerCommand").as_object();
  const boost::json::array& required = enroll.at("required").as_array();
  EXPECT_EQ(required.at(0), "type");
  EXPECT_EQ(required.at(1), "command_id");
  EXPECT_EQ(enroll.at("properties").at("type").at("enum").at(0), "EnrollPartner");
  EXPECT_FALSE(enroll.at("additionalProperties").as_bool());
  // Nested objects, enums and optional members follow the parser.
  const boost::json::object& create = schemas.at("CreateUserCommand").as_object();
  EXPECT_EQ(create.at("properties").at("roles").at("items").at("enum").at(0), "global_admin");
  const boost::json::object& profile = schemas.at("CreateBusinessProfileCommand").as_object();
  EXPECT_TRUE(profile.at("properties").at("details").at("properties").at("logo").at("nullable").as_bool());
}

// GET /v1/me's permission codes and roles are the matrix's and the enum
// table's: the YAML lists exactly them, in their order.
TEST(OpenApi, PermissionCodesAreTheMatrixRows) {
  std::vector<std::string> codes, roles;
  std::set<std::string> unique;
  for (const PermissionRule& rule : permission_rules()) {
    codes.emplace_back(rule.code);
    EXPECT_TRUE(unique.insert(std::string(rule.code)).second) << rule.code << " twice";
  }
  for (Role r : all_roles()) roles.emplace_back(enum_name(r));
  EXPECT_EQ(yaml_enum(Api::openapi_yaml(), "PermissionCode"), codes);
  EXPECT_EQ(yaml_enum(Api::openapi_yaml(), "Role"), roles);
}

TEST(OpenApi, SaleBlockerCodesAreTheDomains) {
  std::vector<std::string> codes;
  for (std::string_view c : sale_blocker_codes()) codes.emplace_back(c);
  EXPECT_EQ(yaml_enum(Api::openapi_yaml(), "SaleBlockerCode"), codes);
}

}  // namespace
}  // namespace accountable
