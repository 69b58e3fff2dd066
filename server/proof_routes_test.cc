// The Merkle tree's routes over real HTTP: the latest checkpoint as a signed
// note, inclusion proofs that `acct verify-proof`'s check accepts offline
// against the event as /v1/events served it, consistency proofs between two
// signed checkpoints, and clear refusals of bad parameters.
#include <gtest/gtest.h>

#include "aggregates/partner_export.h"
#include "aggregates/partner_history.h"
#include "events/merkle.h"
#include "server/testing/http_test_client.h"
#include "transparency/event_proof.h"

namespace accountable {
namespace {

using namespace http_test;

class ProofRoutes : public ServerFixture {};

TEST_F(ProofRoutes, CheckpointsInclusionAndConsistencyVerifyOffline) {
  EXPECT_EQ(request(http::verb::get, "/v1/checkpoints/latest").status, 404u);  // nothing signed yet
  auto [partner, admin, temp] = enroll();
  ASSERT_FALSE(partner.empty());
  ASSERT_TRUE(stack_->signer()->sign_now().is_ok());
  Reply first = request(http::verb::get, "/v1/checkpoints/latest");
  ASSERT_EQ(first.status, 200u) << first.body;
  auto c1 = parse_tree_checkpoint(first.body);
  ASSERT_TRUE(c1.is_ok()) << c1.status().to_string();
  EXPECT_TRUE(check_tree_checkpoint(*c1, stack_->signer()->public_key()).is_ok());
  const uint64_t n1 = c1->body.tree_size;
  EXPECT_EQ(n1, stack_->log().head().value());

  enroll_fabrikam();
  ASSERT_TRUE(stack_->signer()->sign_now().is_ok());
  auto c2 = parse_tree_checkpoint(request(http::verb::get, "/v1/checkpoints/latest").body);
  ASSERT_TRUE(c2.is_ok());
  ASSERT_GT(c2->body.tree_size, n1);

  // Every event of the first checkpoint, against the latest one, with the
  // event exactly as /v1/events serves it.
  Reply events = request(http::verb::get, "/v1/events?limit=1000", "", operator_token_);
  ASSERT_EQ(events.status, 200u);
  const json::value all = events.json();
  for (const json::value& e : all.at("events").as_array()) {
    const uint64_t p = e.at("position").to_number<uint64_t>();
    Reply r = request(http::verb::get, "/v1/proofs/inclusion?position=" + std::to_string(p), "", operator_token_);
    ASSERT_EQ(r.status, 200u) << r.body;
    auto bundle = inclusion_bundle_from_json(r.json());
    ASSERT_TRUE(bundle.is_ok()) << bundle.status().to_string();
    EXPECT_EQ(bundle->tree_size, c2->body.tree_size);
    auto checked = check_event_proof(*bundle, "", stack_->signer()->public_key(), &e.as_object());
    ASSERT_TRUE(checked.is_ok()) << p << ": " << checked.status().to_string();
    EXPECT_GE(checked->fields_compared, 12u);
    // The same event with one member changed is refused, naming it.
    json::object changed = e.as_object();
    changed["stream"] = "partner-someone-else";
    auto refused = check_event_proof(*bundle, "", stack_->signer()->public_key(), &changed);
    ASSERT_FALSE(refused.is_ok());
    EXPECT_EQ(refused.status().field(), "stream");
  }

  Reply c = request(http::verb::get,
                    "/v1/proofs/consistency?from=" + std::to_string(n1) + "&to=" + std::to_string(c2->body.tree_size));
  ASSERT_EQ(c.status, 200u) << c.body;
  auto bundle = consistency_bundle_from_json(c.json());
  ASSERT_TRUE(bundle.is_ok());
  EXPECT_EQ(bundle->from_root, c1->body.root);
  EXPECT_EQ(bundle->to_root, c2->body.root);
  EXPECT_TRUE(
      merkle::verify_consistency(n1, c2->body.tree_size, c1->body.root, c2->body.root, bundle->proof).is_ok());
}

// The other shapes an event is served in: a /history entry and an export line.
TEST_F(ProofRoutes, HistoryEntriesAndExportLinesVerifyOffline) {
  auto [partner, admin, temp] = enroll();
  ASSERT_FALSE(partner.empty());
  ASSERT_TRUE(stack_->signer()->sign_now().is_ok());
  auto proof_of = [&](uint64_t p) {
    Reply r = request(http::verb::get, "/v1/proofs/inclusion?position=" + std::to_string(p), "", operator_token_);
    EXPECT_EQ(r.status, 200u) << r.body;
    return inclusion_bundle_from_json(r.json()).value();
  };
  // The history waits for the audit view to apply the enrolment.
  Reply history = request(http::verb::get, "/v1/partners/" + partner + "/history?min_position=" +
                                               std::to_string(stack_->log().head().value()),
                          "", operator_token_);
  ASSERT_EQ(history.status, 200u) << history.body;
  const json::value page = history.json();
  ASSERT_FALSE(page.at("entries").as_array().empty());
  for (const json::value& entry : page.at("entries").as_array()) {
    const uint64_t p = entry.at("position").to_number<uint64_t>();
    auto checked = check_event_proof(proof_of(p), "", stack_->signer()->public_key(), &entry.as_object());
    ASSERT_TRUE(checked.is_ok()) << p << ": " << checked.status().to_string();
    EXPECT_GE(checked->fields_compared, 7u);  // position, stream, version, type, schema, command, actor, time
  }
  auto log = read_partner_log(stack_->log(), PartnerId::parse(partner).value());
  ASSERT_TRUE(log.is_ok());
  auto lines = export_partner(*log, &stack_->cipher(), posix_env(), dir_, PartnerId::parse(partner).value(),
                              ExportFormat::kJsonl);
  ASSERT_TRUE(lines.is_ok()) << lines.status().to_string();
  size_t checked_lines = 0;
  for (const std::string& line : *lines) {
    json::value v = json::parse(line);
    if (v.at("record") != json::value("event")) continue;
    const uint64_t p = v.at("position").to_number<uint64_t>();
    auto checked = check_event_proof(proof_of(p), "", stack_->signer()->public_key(), &v.as_object());
    ASSERT_TRUE(checked.is_ok()) << p << ": " << checked.status().to_string();
    ++checked_lines;
    if (v.at("type") == json::value("PartnerEnrolled")) {
      json::object changed = v.as_object();
      changed["data"].as_object()["partner_name"] = "Not Contoso";
      auto refused = check_event_proof(proof_of(p), "", stack_->signer()->public_key(), &changed);
      ASSERT_FALSE(refused.is_ok());
    }
  }
  EXPECT_GT(checked_lines, 0u);
}

TEST_F(ProofRoutes, BadParametersAreRefusedNamingTheParameter) {
  enroll();
  const std::string head = std::to_string(stack_->log().head().value());
  const std::string beyond = std::to_string(stack_->log().head().value() + 1);
  struct Case {
    std::string target;
    unsigned status;
    std::string field;
  };
  const Case cases[] = {
      {"/v1/proofs/consistency?from=2", 400, "to"},
      {"/v1/proofs/consistency?from=0&to=2", 400, "from"},
      {"/v1/proofs/consistency?from=3&to=2", 404, "from"},
      {"/v1/proofs/consistency?from=1&to=" + beyond, 404, "to"},
      {"/v1/proofs/consistency?from=x&to=2", 400, "from"},
      {"/v1/proofs/inclusion?tree_size=2", 400, "position"},
      {"/v1/proofs/inclusion?position=3&tree_size=2", 404, "position"},
      {"/v1/proofs/inclusion?position=1&tree_size=" + beyond, 404, "tree_size"},
      {"/v1/proofs/inclusion?position=1", 404, "position"},  // no signed checkpoint covers it yet
  };
  for (const Case& k : cases) {
    Reply r = request(http::verb::get, k.target, "", operator_token_);
    EXPECT_EQ(r.status, k.status) << k.target << ": " << r.body;
    EXPECT_NE(r.body.find("\"field\":\"" + k.field + "\""), std::string::npos) << k.target << ": " << r.body;
  }
  EXPECT_EQ(request(http::verb::get, "/v1/proofs/inclusion?position=1&tree_size=" + head).status, 401u);
  // Without a trusted witness, no cosignature is taken.
  Reply post = request(http::verb::post, "/v1/checkpoints/cosignatures", "anything");
  EXPECT_EQ(post.status, 403u) << post.body;
}

}  // namespace
}  // namespace accountable
