// The web console's files over real HTTP (issue 21): every file of
// console/web/ is served with its type and the security headers; the page
// loads only modules of this origin; the console's code never writes HTML from
// strings, never evaluates text and never touches localStorage (so a value from
// the API renders as text and the token never outlives the tab).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "app/account_stack.h"
#include "app/token_store.h"
#include "server/api.h"
#include "server/metrics.h"

#include "server/console_assets.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

class ConsoleRoutes : public ServerFixture {};

void expect_security_headers(const Reply& r, const std::string& what) {
  const std::string csp = r.header("content-security-policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << what << ": " << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << what << ": " << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << what << ": " << csp;
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << what << ": " << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << what << ": " << csp;
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff") << what;
  EXPECT_EQ(r.header("x-frame-options"), "DENY") << what;
  EXPECT_EQ(r.header("referrer-policy"), "no-referrer") << what;
}

TEST_F(ConsoleRoutes, ServesEveryFileWithItsTypeAndTheSecurityHeaders) {
  ASSERT_GT(std::size(kConsoleAssetFiles), 3u);
  Reply index = request(http::verb::get, "/");
  ASSERT_EQ(index.status, 200u) << index.body;
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  expect_security_headers(index, "/");
  for (const ConsoleAssetBytes& a : kConsoleAssetFiles) {
    const std::string name(a.name);
    Reply r = request(http::verb::get, "/console/" + name);
    ASSERT_EQ(r.status, 200u) << name << ": " << r.body;
    EXPECT_EQ(r.body, std::string(reinterpret_cast<const char*>(a.bytes), a.size)) << name;
    expect_security_headers(r, name);
    if (name.ends_with(".js")) {
      EXPECT_EQ(r.header("content-type"), "text/javascript; charset=utf-8") << name;
    }
    if (name.ends_with(".css")) {
      EXPECT_EQ(r.header("content-type"), "text/css; charset=utf-8") << name;
    }
  }
}

TEST_F(ConsoleRoutes, AnUnknownFileIsANamed404AndChangesNothing) {
  Reply r = request(http::verb::get, "/console/nothing-here.js");
  EXPECT_EQ(r.status, 404u) << r.body;
  EXPECT_EQ(r.error_field(), "asset") << r.body;
  // A path outside the flat folder does not match the route at all.
  EXPECT_EQ(request(http::verb::get, "/console/..%2Fdocs%2Fopenapi.yaml").status, 404u);
  EXPECT_EQ(request(http::verb::get, "/console/a/b.js").status, 404u);
  EXPECT_EQ(request(http::verb::post, "/").status, 405u);
}

// serve --console-dir: the files come from that folder on each request (a
// change shows on reload); a dot file or a missing one is a 404.
TEST(ConsoleDir, ServesTheFolderInsteadOfTheBuiltInFiles) {
  const std::string dir = std::filesystem::temp_directory_path() / ("acct-console-dir-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/web");
  AccountStackOptions options;
  options.data_dir = dir + "/data";
  auto stack = AccountStack::open(options);
  ASSERT_TRUE(stack.is_ok()) << stack.status().to_string();
  auto tokens = TokenStore::open(posix_env(), options.data_dir, Timestamp{0});
  ASSERT_TRUE(tokens.is_ok()) << tokens.status().to_string();
  Metrics metrics((*stack)->log());
  ApiOptions api_options;
  api_options.console_dir = dir + "/web";
  Api api(**stack, **tokens, metrics, nullptr, api_options);
  auto get = [&](const std::string& path) {
    HttpRequest http{http::verb::get, path, 11};
    auto match = api.router().match(http::verb::get, path);
    EXPECT_NE(match.route, nullptr) << path;
    ApiRequest req{http, path, match.params, {}, ""};
    return match.route->handler(req).response;
  };
  std::ofstream(dir + "/web/app.js") << "export const v = 1;\n";
  std::ofstream(dir + "/web/.secret") << "no";
  HttpResponse first = get("/console/app.js");
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_EQ(first.body(), "export const v = 1;\n");
  EXPECT_EQ(first[http::field::content_type], "text/javascript; charset=utf-8");
  std::ofstream(dir + "/web/app.js") << "export const v = 2;\n";
  EXPECT_EQ(get("/console/app.js").body(), "export const v = 2;\n");
  EXPECT_EQ(get("/console/.secret").result_int(), 404);
  EXPECT_EQ(get("/console/none.js").result_int(), 404);
  std::filesystem::create_directories(dir + "/web/sub");
  EXPECT_EQ(get("/console/sub").result_int(), 404);  // a folder is not a file
  EXPECT_EQ(get("/").result_int(), 404);  // the folder has no index.html
  ASSERT_TRUE((*stack)->close().is_ok());
  std::filesystem::remove_all(dir);
}

std::string asset_text(std::string_view name) {
  for (const ConsoleAssetBytes& a : kConsoleAssetFiles) {
    if (a.name == name) return std::string(reinterpret_cast<const char*>(a.bytes), a.size);
  }
  return "";
}

TEST(ConsoleAssets, ThePageHasNoInlineScriptAndLoadsOnlyItsOwnFiles) {
  const std::string html = asset_text("index.html");
  ASSERT_FALSE(html.empty());
  // Every <script> has a src on this origin; no inline event handler attribute.
  const std::regex script(R"(<script\b([^>]*)>)", std::regex::icase);
  int scripts = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), script); it != std::sregex_iterator(); ++it) {
    ++scripts;
    const std::string attrs = (*it)[1];
    EXPECT_NE(attrs.find("src=\"/console/"), std::string::npos) << attrs;
  }
  EXPECT_GE(scripts, 1);
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase)));
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST(ConsoleAssets, TheCodeNeverParsesHtmlFromStringsNorUsesLocalStorage) {
  // The sinks through which text becomes markup or code, and the storage that
  // outlives the tab. The console builds nodes (dom.js) and sets textContent.
  const std::regex sinks(
      R"(innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\b|localStorage|srcdoc|createContextualFragment|DOMParser)");
  int modules = 0;
  for (const ConsoleAssetBytes& a : kConsoleAssetFiles) {
    if (!a.name.ends_with(".js")) continue;
    ++modules;
    std::string code(reinterpret_cast<const char*>(a.bytes), a.size);
    // The SVG namespace is a name, not an address that is fetched.
    code = std::regex_replace(code, std::regex(R"(http://www\.w3\.org/2000/svg)"), "svg-namespace");
    std::smatch m;
    EXPECT_FALSE(std::regex_search(code, m, sinks)) << a.name << " uses " << m.str(0);
    // Every request goes to this origin's API: no absolute URL in the code.
    EXPECT_EQ(code.find("http://"), std::string::npos) << a.name;
    EXPECT_EQ(code.find("https://"), std::string::npos) << a.name;
  }
  EXPECT_GE(modules, 5);
}

// api.js reads its own writes on the routes that take min_position: its list is
// the document's (a view route added to the API without it would show a page's
// change late; a route in the list that does not take it would be a guess).
TEST(ConsoleAssets, TheReadYourWritesRoutesAreTheDocumentsMinPositionRoutes) {
  const std::string_view yaml = Api::openapi_yaml();
  std::set<std::string> documented;
  const std::string_view paths = yaml.substr(yaml.find("\npaths:\n"));
  size_t at = 0;
  while ((at = paths.find("\n  /", at)) != std::string_view::npos) {
    const size_t colon = paths.find(":\n", at);
    const std::string pattern(paths.substr(at + 3, colon - at - 3));
    const size_t next = paths.find("\n  /", colon);
    const std::string_view block = paths.substr(colon, next == std::string_view::npos ? paths.npos : next - colon);
    if (block.find("#/components/parameters/MinPosition") != std::string_view::npos) documented.insert(pattern);
    at = colon;
  }
  ASSERT_GE(documented.size(), 10u);
  const std::string code = asset_text("api.js");
  const size_t begin = code.find("const VIEW_ROUTES = [");
  const size_t end = code.find("]", begin);
  ASSERT_NE(begin, std::string::npos);
  std::set<std::string> listed;
  const std::string list = code.substr(begin, end - begin);
  const std::regex quoted(R"('([^']+)')");
  for (auto it = std::sregex_iterator(list.begin(), list.end(), quoted); it != std::sregex_iterator(); ++it) {
    listed.insert((*it)[1]);
  }
  EXPECT_EQ(listed, documented);
}

}  // namespace
}  // namespace accountable
