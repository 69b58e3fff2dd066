// The Kafka message of an event (no broker needed): envelope, key, headers,
// payload as JSON with personal data opened or erased, and the parser.
#include "consumers/event_message.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "consumers/consumer.h"
#include "consumers/relay.h"
#include "consumers/testing/kafka_testing.h"
#include "schema/json_codec.h"

#if defined(__SANITIZE_ADDRESS__)
// The sanitizer runtime's hook (sanitizer/allocator_interface.h, which GCC
// does not install).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                                         void (*free_hook)(const volatile void*));
#endif

namespace accountable {
namespace {

namespace json = boost::json;
using testing::TempLog;

const PartnerId kPartner = *PartnerId::parse("6f1c2d3e-0000-4000-8000-0000000000aa");
const UserId kAlice = *UserId::parse("6f1c2d3e-0000-4000-8000-000000000001");
const UserId kBob = *UserId::parse("6f1c2d3e-0000-4000-8000-000000000002");

UserCreated user(const UserId& id, const char* first) {
  return UserCreated{id, kPartner,
                     PersonalContact{user_subject(id), ContactDetails{first, "Example", "x@example.com", "+1"}},
                     std::string("\x01\x02", 2)};
}

class EventMessageTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(t_.status().is_ok()) << t_.status().to_string(); }

  // The events of the log, as messages built with the key store's cipher.
  std::vector<EventMessage> messages() {
    std::vector<EventMessage> out;
    auto batch = t_.log().read_all(GlobalPosition(1), 1000);
    EXPECT_TRUE(batch.is_ok()) << batch.status().to_string();
    if (!batch) return out;
    for (const RecordedEvent& e : batch->events) {
      auto m = make_event_message(e, t_.cipher());
      EXPECT_TRUE(m.is_ok()) << m.status().to_string();
      if (m) out.push_back(std::move(*m));
    }
    return out;
  }

  TempLog t_;
};

// Allocations made by this thread while counting, through the sanitizer's
// malloc hook (the tests are built with ACCT_SANITIZE=ON).
thread_local bool counting = false;
thread_local uint64_t allocations = 0;
[[maybe_unused]] void on_malloc(const volatile void*, size_t) {
  if (counting) ++allocations;
}
[[maybe_unused]] void on_free(const volatile void*) {}

template <class F>
uint64_t allocations_of(F f) {
  allocations = 0;
  counting = true;
  f();
  counting = false;
  return allocations;
}

// The relay encodes into recycled messages (consumers/relay_encoder.h): once
// warm, encoding an event allocates nothing beyond what decoding its payload
// allocates. The envelope is written as text, the payload's JSON tree lives in
// a reused arena, ids and times go straight into the buffer, and the key and
// headers are assigned in place.
TEST_F(EventMessageTest, EncodingIntoARecycledMessageAllocatesNoMoreThanTheDecode) {
#if !defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "counts allocations with the sanitizer's malloc hook (ACCT_SANITIZE=ON)";
#else
  ASSERT_EQ(1, __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free));
  ASSERT_EQ(1u, allocations_of([] { EXPECT_EQ(100u, std::string(100, 'x').size()); })) << "the hook counts";
  // One event with sealed personal data, one of the operator's without.
  ASSERT_TRUE(testing::append_event(t_.log(), "user-" + kAlice.to_string(), kPartner.to_string(), user(kAlice, "Alice"),
                                    t_.cipher())
                  .is_ok());
  ASSERT_TRUE(testing::append_event(t_.log(), "catalog", "", OfferRetired{"offer-1", Timestamp{1}}, t_.cipher()).is_ok());
  auto batch = t_.log().read_all(GlobalPosition(1), 10);
  ASSERT_TRUE(batch.is_ok()) << batch.status().to_string();
  ASSERT_EQ(2u, batch->events.size());
  EventMessage m;
  for (const RecordedEvent& e : batch->events) {
    ASSERT_TRUE(encode_event_message(e, t_.cipher(), &m).is_ok());  // warm: buffers, arena, serializer
    const uint64_t decode = allocations_of([&] {
      PersonalDataScope scope(t_.cipher());
      EXPECT_TRUE(decode_event(e.type, e.schema_version, e.payload).is_ok());
    });
    const uint64_t encode = allocations_of([&] { EXPECT_TRUE(encode_event_message(e, t_.cipher(), &m).is_ok()); });
    EXPECT_EQ(decode, encode) << e.type << ": encoding allocated " << encode << " times, decoding alone " << decode;
  }
#endif
}

TEST_F(EventMessageTest, CarriesTheEnvelopeTheHeadersAndThePayloadAsJson) {
  const std::string stream = "user-" + kAlice.to_string();
  ASSERT_TRUE(testing::append_event(t_.log(), stream, kPartner.to_string(), user(kAlice, "Alice"), t_.cipher()).is_ok());
  auto batch = t_.log().read_all(GlobalPosition(1), 10);
  ASSERT_TRUE(batch.is_ok());
  const RecordedEvent& rec = batch->events.at(0);
  auto m = make_event_message(rec, t_.cipher());
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();

  EXPECT_EQ(kPartner.to_string(), m->key) << "events of a partner are keyed by the partner";
  json::object v = json::parse(m->value).as_object();
  EXPECT_EQ(1, v.at("format").to_number<int>());
  EXPECT_EQ(1u, v.at("position").to_number<uint64_t>());
  EXPECT_EQ(stream, v.at("stream").as_string());
  EXPECT_EQ(1u, v.at("version").to_number<uint64_t>());
  EXPECT_EQ("UserCreated", v.at("type").as_string());
  EXPECT_EQ(2, v.at("schema_version").to_number<int>());
  EXPECT_EQ(rec.event_id.to_string(), v.at("event_id").as_string());
  EXPECT_EQ(rec.command_id.to_string(), v.at("command_id").as_string());
  EXPECT_EQ(rec.correlation_id.to_string(), v.at("correlation_id").as_string());
  EXPECT_EQ(rec.causation_id.to_string(), v.at("causation_id").as_string());
  EXPECT_EQ("operator:test", v.at("actor").as_string());
  EXPECT_EQ(format_timestamp(rec.recorded_at), v.at("recorded_at").as_string());
  EXPECT_EQ(kPartner.to_string(), v.at("partner").as_string());
  EXPECT_EQ(hex_encode(rec.hash.data(), rec.hash.size()), v.at("hash").as_string());
  EXPECT_TRUE(v.at("erased_subjects").as_array().empty());
  EXPECT_EQ(2, v.at("data_schema_version").to_number<int>());
  // The payload is event_to_json of the decoded event: personal data in clear.
  EXPECT_EQ(event_to_json(user(kAlice, "Alice")), v.at("data"));
  EXPECT_EQ("Alice", v.at("data").at("profile").at("first_name").as_string());
  EXPECT_EQ(std::string::npos, m->value.find("password")) << "no secret in a message";

  std::map<std::string, std::string> h(m->headers.begin(), m->headers.end());
  EXPECT_EQ(6u, h.size());
  EXPECT_EQ("UserCreated", h["event_type"]);
  EXPECT_EQ("2", h["schema_version"]);
  EXPECT_EQ("1", h["position"]);
  EXPECT_EQ(stream, h["stream"]);
  EXPECT_EQ("1", h["version"]);
  EXPECT_EQ(rec.event_id.to_string(), h["event_id"]);

  // The consumer's parser reads back every field.
  auto e = parse_event_message(m->value);
  ASSERT_TRUE(e.is_ok()) << e.status().to_string();
  EXPECT_EQ(GlobalPosition(1), e->position);
  EXPECT_EQ(stream, e->stream);
  EXPECT_EQ(StreamVersion(1), e->version);
  EXPECT_EQ("UserCreated", e->type);
  EXPECT_EQ(2, e->schema_version);
  EXPECT_EQ(rec.event_id, e->event_id);
  EXPECT_EQ(rec.command_id, e->command_id);
  EXPECT_EQ(rec.correlation_id, e->correlation_id);
  EXPECT_EQ(rec.causation_id, e->causation_id);
  EXPECT_EQ("operator:test", e->actor);
  EXPECT_EQ(rec.recorded_at, e->recorded_at);
  EXPECT_EQ(kPartner.to_string(), e->partner);
  EXPECT_EQ(event_to_json(user(kAlice, "Alice")).as_object(), e->data);
}

TEST_F(EventMessageTest, PurgedSubjectsReadAsErasedAndAreListed) {
  ASSERT_TRUE(testing::append_event(t_.log(), "user-" + kAlice.to_string(), kPartner.to_string(), user(kAlice, "Alice"),
                                    t_.cipher())
                  .is_ok());
  ASSERT_TRUE(
      testing::append_event(t_.log(), "user-" + kBob.to_string(), kPartner.to_string(), user(kBob, "Bob"), t_.cipher())
          .is_ok());
  // The log holds only ciphertext of the personal fields.
  auto raw = t_.log().read_all(GlobalPosition(1), 10);
  ASSERT_TRUE(raw.is_ok());
  EXPECT_EQ(std::string_view::npos, raw->events.at(0).payload.find("Alice"));

  ASSERT_TRUE(t_.keys().destroy(user_subject(kAlice)).is_ok());  // what PurgeUser does
  std::vector<EventMessage> m = messages();
  ASSERT_EQ(2u, m.size());
  json::object alice = json::parse(m[0].value).as_object();
  json::object bob = json::parse(m[1].value).as_object();
  EXPECT_EQ(json::array({json::string(user_subject(kAlice))}), alice.at("erased_subjects").as_array());
  // Rendered as event_to_json renders an erased Personal<T>.
  UserCreated erased = user(kAlice, "");
  erased.profile.value = ContactDetails{};
  erased.profile.erased = true;
  EXPECT_EQ(event_to_json(erased), alice.at("data"));
  EXPECT_EQ(std::string::npos, m[0].value.find("Alice"));
  EXPECT_EQ(std::string::npos, m[0].value.find("x@example.com"));
  EXPECT_TRUE(bob.at("erased_subjects").as_array().empty());
  EXPECT_EQ("Bob", bob.at("data").at("profile").at("first_name").as_string());
}

TEST_F(EventMessageTest, QuotesAndBackslashesInAnActorAreEscaped) {
  CommitRequest r;
  r.command_id = CommandId::random();
  r.actor = R"(op"er\a\"tor)";
  StreamAppend s;
  s.stream = "catalog";
  PersonalDataScope scope(t_.cipher());
  EncodedEvent enc = encode_event(OfferRetired{"offer-1", Timestamp{1}});
  s.events.push_back(NewEvent{EventId::random(), enc.type, enc.schema_version, enc.bytes});
  r.streams.push_back(std::move(s));
  ASSERT_TRUE(t_.log().append(std::move(r)).is_ok());
  std::vector<EventMessage> m = messages();
  ASSERT_EQ(1u, m.size());
  json::error_code ec;
  json::value v = json::parse(m[0].value, ec);
  ASSERT_FALSE(ec) << m[0].value;
  EXPECT_EQ(R"(op"er\a\"tor)", v.at("actor").as_string());
  auto e = parse_event_message(m[0].value);
  ASSERT_TRUE(e.is_ok()) << e.status().to_string();
  EXPECT_EQ(R"(op"er\a\"tor)", e->actor);
}

TEST_F(EventMessageTest, CatalogEventsHaveNoPartnerAndAreKeyedByStream) {
  Offer offer;
  offer.offer_id = "offer-1";
  offer.display_name = "Offer One";
  ASSERT_TRUE(testing::append_event(t_.log(), "catalog", "", OfferPublished{offer}, t_.cipher()).is_ok());
  std::vector<EventMessage> m = messages();
  ASSERT_EQ(1u, m.size());
  EXPECT_EQ("catalog", m[0].key);
  json::object v = json::parse(m[0].value).as_object();
  EXPECT_TRUE(v.at("partner").is_null());
  EXPECT_EQ("offer-1", v.at("data").at("offer").at("offer_id").as_string());
  auto e = parse_event_message(m[0].value);
  ASSERT_TRUE(e.is_ok()) << e.status().to_string();
  EXPECT_EQ("", e->partner);
}

TEST_F(EventMessageTest, AnUndecodableEventIsAnErrorNamingItsPosition) {
  CommitRequest r;
  r.command_id = CommandId::random();
  r.actor = "operator:test";
  StreamAppend s;
  s.stream = "catalog";
  s.events.push_back(NewEvent{EventId::random(), "NotAnEventType", 1, "xyz"});
  r.streams.push_back(std::move(s));
  ASSERT_TRUE(t_.log().append(std::move(r)).is_ok());
  auto batch = t_.log().read_all(GlobalPosition(1), 10);
  ASSERT_TRUE(batch.is_ok());
  auto m = make_event_message(batch->events.at(0), t_.cipher());
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ("position", m.status().field());
  EXPECT_NE(std::string::npos, m.status().message().find("position 1")) << m.status().to_string();
  EXPECT_NE(std::string::npos, m.status().message().find("NotAnEventType")) << m.status().to_string();
}

TEST_F(EventMessageTest, ParserNamesTheMissingOrMistypedField) {
  ASSERT_TRUE(testing::append_event(t_.log(), "catalog", "", OfferRetired{"offer-9", Timestamp{1}}, t_.cipher()).is_ok());
  const std::string good = messages().at(0).value;
  for (const char* field : {"format", "position", "stream", "version", "type", "schema_version", "event_id",
                            "command_id", "correlation_id", "causation_id", "actor", "recorded_at", "partner", "hash",
                            "erased_subjects", "data_schema_version", "data"}) {
    json::object v = json::parse(good).as_object();
    v.erase(field);
    auto e = parse_event_message(json::serialize(v));
    ASSERT_FALSE(e.is_ok()) << field;
    EXPECT_EQ(field, e.status().field());
    v = json::parse(good).as_object();
    v[field] = json::array{1};
    e = parse_event_message(json::serialize(v));
    ASSERT_FALSE(e.is_ok()) << field;
    EXPECT_EQ(field, e.status().field());
  }
  json::object v = json::parse(good).as_object();
  v["format"] = 2;
  auto e = parse_event_message(json::serialize(v));
  ASSERT_FALSE(e.is_ok());
  EXPECT_EQ("format", e.status().field());
  v = json::parse(good).as_object();
  v["added_later"] = "ignored";
  EXPECT_TRUE(parse_event_message(json::serialize(v)).is_ok()) << "unknown fields are ignored";
  EXPECT_FALSE(parse_event_message("not json").is_ok());
  EXPECT_FALSE(parse_event_message("[1]").is_ok());
}

TEST_F(EventMessageTest, AnOlderSchemaIsUpcastAndSaysSo) {
  TaxExemptionFiledV1 v1{ExemptionId::random(), "US-WA", "cert-1", Timestamp{2'000'000}, Timestamp{1'000'000}};
  CommitRequest r;
  r.command_id = CommandId::random();
  r.actor = "operator:test";
  StreamAppend s;
  s.stream = "partner-" + kPartner.to_string();
  s.partner = kPartner.to_string();
  s.events.push_back(NewEvent{EventId::random(), "TaxExemptionFiled", 1, encode_tax_exemption_filed_v1(v1)});
  r.streams.push_back(std::move(s));
  ASSERT_TRUE(t_.log().append(std::move(r)).is_ok());
  std::vector<EventMessage> m = messages();
  ASSERT_EQ(1u, m.size());
  json::object v = json::parse(m[0].value).as_object();
  EXPECT_EQ(1, v.at("schema_version").to_number<int>()) << "as written";
  EXPECT_EQ(2, v.at("data_schema_version").to_number<int>()) << "data has the current shape";
  EXPECT_EQ(format_timestamp(Timestamp{1'000'000}), v.at("data").at("valid_from").as_string()) << "v1 upcast: from filing";
  std::map<std::string, std::string> h(m[0].headers.begin(), m[0].headers.end());
  EXPECT_EQ("1", h["schema_version"]);
}

// docs/kafka-event.schema.json is checked against the code: every event type,
// the fields event_to_json gives it, its current schema version, and the
// envelope's fields.
json::object load_schema() {
  std::ifstream in(std::string(ACCT_SOURCE_DIR) + "/docs/kafka-event.schema.json");
  std::stringstream text;
  text << in.rdbuf();
  json::error_code ec;
  json::value v = json::parse(text.str(), ec);
  EXPECT_FALSE(ec) << "docs/kafka-event.schema.json: " << ec.message();
  return v.is_object() ? v.as_object() : json::object{};
}

template <size_t... I>
void check_every_type(const json::object& schema, std::index_sequence<I...>) {
  const json::array& types = schema.at("properties").at("type").at("enum").as_array();
  EXPECT_EQ(sizeof...(I), types.size()) << "the schema lists another number of event types";
  const json::array& rules = schema.at("allOf").as_array();
  (
      [&] {
        using T = std::variant_alternative_t<I, DomainEvent>;
        const std::string type(T::kType);
        SCOPED_TRACE(type);
        EXPECT_NE(types.end(), std::find(types.begin(), types.end(), json::value(type)));
        const json::value* def = schema.at("$defs").as_object().if_contains("data." + type);
        ASSERT_NE(nullptr, def) << "no $defs/data." << type;
        json::array fields;
        const json::value rendered = event_to_json(DomainEvent(T{}));
        for (const auto& kv : rendered.as_object()) fields.emplace_back(kv.key());
        EXPECT_EQ(fields, def->at("required").as_array());
        bool found = false;
        for (const json::value& rule : rules) {
          if (rule.at("if").at("properties").at("type").at("const") != json::value(type)) continue;
          found = true;
          EXPECT_EQ(T::kSchemaVersion,
                    rule.at("then").at("properties").at("data_schema_version").at("const").to_number<int>());
        }
        EXPECT_TRUE(found) << "no allOf rule for " << type;
      }(),
      ...);
}

TEST_F(EventMessageTest, TheJsonSchemaMatchesTheCode) {
  json::object schema = load_schema();
  ASSERT_FALSE(schema.empty());
  check_every_type(schema, std::make_index_sequence<std::variant_size_v<DomainEvent>>{});

  ASSERT_TRUE(testing::append_event(t_.log(), "catalog", "", OfferRetired{"offer-9", Timestamp{1}}, t_.cipher()).is_ok());
  json::object v = json::parse(messages().at(0).value).as_object();
  json::array fields;
  for (const auto& kv : v) fields.emplace_back(kv.key());
  EXPECT_EQ(fields, schema.at("required").as_array()) << "the envelope's fields";
}

TEST(RelayOptionsTest, RefusalsNameTheSetting) {
  RelayOptions o;
  EXPECT_EQ("kafka_brokers", o.validate().field());
  o.brokers = "127.0.0.1:9092";
  EXPECT_TRUE(o.validate().is_ok());
  EXPECT_EQ("accountable.events.relay-checkpoint", o.resolved_checkpoint_topic());
  EXPECT_EQ("accountable-relay.accountable.events", o.resolved_transactional_id());
  RelayOptions bad = o;
  bad.checkpoint_topic = bad.topic;
  EXPECT_EQ("checkpoint_topic", bad.validate().field());
  bad = o;
  bad.partitions = 0;
  EXPECT_EQ("partitions", bad.validate().field());
  bad = o;
  bad.replication_factor = 0;
  EXPECT_EQ("replication_factor", bad.validate().field());
  bad = o;
  bad.max_batch_events = 0;
  EXPECT_EQ("max_batch_events", bad.validate().field());
}

TEST(RelayTest, AProducerSettingLibrdkafkaRefusesStopsTheRelayAsFatal) {
  TempLog t;
  ASSERT_TRUE(t.status().is_ok()) << t.status().to_string();
  RelayOptions o;
  o.brokers = "127.0.0.1:1";
  o.producer_config["no.such.setting"] = "1";
  Relay relay(t.log(), t.cipher(), o);
  ASSERT_TRUE(relay.start().is_ok());
  ASSERT_TRUE(relay.wait(std::chrono::seconds(60)));
  RelayStatus s = relay.status();
  EXPECT_TRUE(s.fatal);
  EXPECT_EQ(RelayState::kFailed, s.state);
  EXPECT_NE(std::string::npos, s.last_error.find("no.such.setting")) << s.last_error;
}

TEST(RelayTest, WithoutABrokerItRetriesAndStops) {
  TempLog t;
  ASSERT_TRUE(t.status().is_ok()) << t.status().to_string();
  RelayOptions o;
  o.brokers = "127.0.0.1:1";  // nothing listens there
  o.operation_timeout = std::chrono::milliseconds(500);
  Relay relay(t.log(), t.cipher(), o);
  ASSERT_TRUE(relay.start().is_ok());
  // Bounded: wait until it reports the failed attempt, at most 60 s.
  RelayStatus s;
  for (int i = 0; i < 600 && s.last_error.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s = relay.status();
  }
  EXPECT_FALSE(s.last_error.empty()) << "no error reported while no broker answers";
  EXPECT_FALSE(s.fatal) << s.last_error;
  relay.stop();
  EXPECT_EQ(RelayState::kStopped, relay.status().state);
  // The log is untouched and still takes commands.
  EXPECT_TRUE(testing::append_event(t.log(), "catalog", "", OfferRetired{"o", Timestamp{1}}, t.cipher()).is_ok());
}

TEST(MemoryVersionTrackerTest, KeepsTheHighestVersionOfTheMostRecentStreams) {
  MemoryVersionTracker t(2);
  EXPECT_EQ(0u, *t.last_version("a"));
  ASSERT_TRUE(t.remember("a", 3).is_ok());
  ASSERT_TRUE(t.remember("a", 2).is_ok());
  EXPECT_EQ(3u, *t.last_version("a")) << "a high-water mark never goes down";
  ASSERT_TRUE(t.remember("b", 1).is_ok());
  EXPECT_EQ(3u, *t.last_version("a"));  // a is now the most recent
  ASSERT_TRUE(t.remember("c", 7).is_ok());  // evicts b
  EXPECT_EQ(2u, t.size());
  EXPECT_EQ(0u, *t.last_version("b"));
  EXPECT_EQ(3u, *t.last_version("a"));
  EXPECT_EQ(7u, *t.last_version("c"));
}

}  // namespace
}  // namespace accountable
