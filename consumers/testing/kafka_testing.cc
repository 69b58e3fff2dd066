#include "consumers/testing/kafka_testing.h"

#include <sodium.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <unordered_map>

#include "consumers/event_message.h"

namespace accountable::testing {

using Clock = std::chrono::steady_clock;

Result<std::string> kafka_bootstrap() {
  const char* b = std::getenv("ACCT_KAFKA_BOOTSTRAP");
  if (b == nullptr || *b == '\0') {
    return Status(StatusCode::kNotFound,
                  "ACCT_KAFKA_BOOTSTRAP is not set: the Kafka tests need a real broker. Run them through "
                  "./scripts/test (it starts one with scripts/kafka start and exports it), or start one yourself: "
                  "export ACCT_KAFKA_BOOTSTRAP=$(scripts/kafka start | tail -1)");
  }
  return std::string(b);
}

std::string unique_name(std::string_view prefix) {
  unsigned char r[4];
  random_bytes(r, sizeof r);
  return std::string(prefix) + "." + std::to_string(::getpid()) + "." + hex_encode(r, sizeof r);
}

namespace {

PartnerId partner_id_of(uint64_t seed, int i) {
  PartnerId::Bytes b{};
  for (int k = 0; k < 8; ++k) b[k] = static_cast<unsigned char>(seed >> (8 * k));
  for (int k = 0; k < 4; ++k) b[12 + k] = static_cast<unsigned char>(static_cast<uint32_t>(i) >> (8 * k));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return PartnerId(b);
}

UserId user_id_of(const PartnerId& p) {
  UserId::Bytes b = p.bytes();
  b[11] ^= 0x5a;
  return UserId(b);
}

Address address(int i) {
  return Address{std::to_string(i) + " Main Street", "", "Redmond", "WA", "98052", "US", "West"};
}

DomainEvent partner_event(const PartnerId& pid, int index, uint64_t version, std::mt19937_64& rng) {
  if (version == 1) {
    PartnerEnrolled e;
    e.partner_id = pid;
    e.partner_name = "Partner " + std::to_string(index);
    e.mpn_id = std::to_string(1000000 + index);
    e.legal.company_name = "Company " + std::to_string(index) + " Ltd";
    e.legal.address = address(index);
    e.legal.primary_contact = PersonalContact{contact_subject(pid, "legal_primary"),
                                              ContactDetails{"Pat", "Legal", "pat@example.com", "+1 425 555 0100"}};
    e.legal.approver_email = Personal<std::string>{contact_subject(pid, "approver"), "approver@example.com"};
    e.legal.approver_address = address(index);
    e.organization = OrganizationProfile{"tenant-" + std::to_string(index), "p.example.com", "info@example.com", "en",
                                         "en-us"};
    e.billing_currency = "USD";
    e.enrolled_at = Timestamp{1'790'000'000'000'000};
    return e;
  }
  switch (version % 5) {
    case 0: return VettingStatusChanged{VettingStatus::kPending, VettingSubStatus::kEntry};
    case 1: return LocationAdded{LocationId::random(), address(static_cast<int>(rng() % 1000)), "mpn-loc"};
    case 2: return OfferPinned{"offer-" + std::to_string(rng() % 100)};
    case 3: return SupportProfileUpdated{SupportProfile{"support@example.com", "+1 425 555 0199", "https://example.com"}};
    default: return PartnerUserAdded{UserId::random(), std::string("\x01\x02\x03\xfe", 4)};
  }
}

NewEvent new_event(const DomainEvent& event, PersonalDataCipher* cipher) {
  PersonalDataScope scope(cipher);
  EncodedEvent enc = encode_event(event);
  return NewEvent{EventId::random(), enc.type, enc.schema_version, std::move(enc.bytes)};
}

CommitRequest new_commit() {
  CommitRequest r;
  r.command_id = CommandId::random();
  r.correlation_id = CorrelationId::random();
  r.causation_id = CausationId::random();
  r.actor = "operator:test";
  return r;
}

}  // namespace

TempLog::TempLog() {
  if (sodium_init() < 0) {
    status_ = Status(StatusCode::kInternal, "libsodium failed to initialise");
    return;
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "acct-kafka-test.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    status_ = io_error("mkdtemp failed");
    return;
  }
  dir_ = tmpl;
  LogOptions o;
  o.data_dir = dir_;
  auto log = EventLog::open(o);
  if (!log) {
    status_ = log.status();
    return;
  }
  log_ = std::move(*log);
  auto keys = KeyStore::open(posix_env(), dir_);
  if (!keys) {
    status_ = keys.status();
    return;
  }
  keys_ = std::move(*keys);
  cipher_ = std::make_unique<KeyStoreCipher>(*keys_);
}

TempLog::~TempLog() {
  if (log_) log_->close().ignore();
  log_.reset();
  cipher_.reset();
  keys_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

CommitRequest event_commit(const std::string& stream, const std::string& partner, const DomainEvent& event,
                           PersonalDataCipher* cipher) {
  CommitRequest r = new_commit();
  StreamAppend s;
  s.stream = stream;
  s.partner = partner;
  s.events.push_back(new_event(event, cipher));
  r.streams.push_back(std::move(s));
  return r;
}

Status append_event(EventLog& log, const std::string& stream, const std::string& partner, const DomainEvent& event,
                    PersonalDataCipher* cipher) {
  return log.append(event_commit(stream, partner, event, cipher)).status();
}

Result<uint64_t> populate(EventLog& log, const PopulateOptions& o, PersonalDataCipher* cipher) {
  std::mt19937_64 rng(o.seed);
  std::vector<uint64_t> versions(static_cast<size_t>(o.partners), 0);
  uint64_t written = 0;
  uint64_t catalog_version = 0;
  int next_partner = 0;
  for (uint64_t commit = 0; written < o.events; ++commit) {
    CommitRequest r = new_commit();
    for (int s = 0; s < o.streams_per_commit && s < o.partners; ++s) {
      const int i = next_partner;
      next_partner = (next_partner + 1) % o.partners;
      const PartnerId pid = partner_id_of(o.seed, i);
      StreamAppend a;
      a.stream = "partner-" + pid.to_string();
      a.partner = pid.to_string();
      for (int k = 0; k < o.events_per_stream; ++k) {
        a.events.push_back(new_event(partner_event(pid, i, ++versions[static_cast<size_t>(i)], rng), cipher));
      }
      if (versions[static_cast<size_t>(i)] == static_cast<uint64_t>(o.events_per_stream)) {
        // The partner's first admin, with personal data of its own subject.
        const UserId uid = user_id_of(pid);
        StreamAppend u;
        u.stream = "user-" + uid.to_string();
        u.partner = pid.to_string();
        UserCreated created{uid, pid,
                            PersonalContact{user_subject(uid),
                                            ContactDetails{"Ada", "Admin", "ada" + std::to_string(i) + "@example.com",
                                                           "+1 425 555 0101"}},
                            std::string("\xaa\xbb", 2)};
        u.events.push_back(new_event(created, cipher));
        written += 1;
        r.streams.push_back(std::move(u));
      }
      written += a.events.size();
      r.streams.push_back(std::move(a));
    }
    if (o.catalog_every > 0 && commit % static_cast<uint64_t>(o.catalog_every) == 0) {
      StreamAppend c;
      c.stream = "catalog";
      Offer offer;
      offer.offer_id = "offer-" + std::to_string(++catalog_version);
      offer.display_name = "Offer " + std::to_string(catalog_version);
      offer.purchase_unit = "1 Month";
      c.events.push_back(new_event(catalog_version == 1 ? DomainEvent(OfferPublished{offer})
                                                        : DomainEvent(OfferUpdated{offer}),
                                   cipher));
      written += 1;
      r.streams.push_back(std::move(c));
    }
    auto result = log.append(std::move(r));
    if (!result) return result.status();
  }
  return written;
}

Result<std::vector<TopicMessage>> read_topic(const std::string& brokers, const std::string& topic, size_t expected,
                                             std::chrono::milliseconds timeout, bool read_committed) {
  kafka::Properties p;
  p["bootstrap.servers"] = brokers;
  p["group.id"] = unique_name("reader");  // assign() only: never joins, never commits
  p["isolation.level"] = read_committed ? "read_committed" : "read_uncommitted";
  p["enable.auto.commit"] = "false";
  p["enable.partition.eof"] = "true";
  p["auto.offset.reset"] = "earliest";
  auto conf = kafka::make_conf(p);
  if (!conf) return conf.status();
  auto consumer = kafka::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!consumer) return consumer.status();
  rd_kafka_t* rk = consumer->get();
  auto info = kafka::describe_topic(rk, topic, std::chrono::seconds(10));
  if (!info) return info.status();
  if (!info->exists) return not_found("topic " + topic + " does not exist", "topic");
  kafka::PartitionList list(rd_kafka_topic_partition_list_new(info->partitions));
  for (int i = 0; i < info->partitions; ++i) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), i)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, list.get())) return kafka::error_status(err, "assign");

  std::vector<TopicMessage> out;
  out.reserve(expected);
  std::set<int32_t> at_end;
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (out.size() >= expected && static_cast<int>(at_end.size()) == info->partitions) break;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(m, rd_kafka_message_destroy);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
      continue;
    }
    if (m->err) continue;  // transport errors while a broker is down: librdkafka retries
    at_end.erase(m->partition);
    TopicMessage t;
    t.partition = m->partition;
    t.offset = m->offset;
    if (m->key) t.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) t.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* h = nullptr;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
        t.headers.emplace_back(name, std::string(static_cast<const char*>(value), size));
      }
    }
    out.push_back(std::move(t));
  }
  rd_kafka_assign(rk, nullptr);
  return out;
}

Result<int64_t> high_watermarks(const std::string& brokers, const std::string& topic) {
  kafka::Properties p;
  p["bootstrap.servers"] = brokers;
  p["group.id"] = unique_name("watermarks");
  // librdkafka's default is read_committed, whose "high watermark" is the
  // last stable offset: uncommitted messages would not count.
  p["isolation.level"] = "read_uncommitted";
  auto conf = kafka::make_conf(p);
  if (!conf) return conf.status();
  auto consumer = kafka::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!consumer) return consumer.status();
  auto info = kafka::describe_topic(consumer->get(), topic, std::chrono::seconds(10));
  if (!info) return info.status();
  if (!info->exists) return int64_t{0};
  int64_t sum = 0;
  for (int i = 0; i < info->partitions; ++i) {
    int64_t lo = 0, hi = 0;
    if (rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(consumer->get(), topic.c_str(), i, &lo, &hi, 10000)) {
      return kafka::error_status(err, "watermarks of " + topic);
    }
    sum += hi;
  }
  return sum;
}

Result<std::map<std::string, std::string>> topic_settings(const std::string& brokers, const std::string& topic) {
  kafka::Properties p;
  p["bootstrap.servers"] = brokers;
  auto conf = kafka::make_conf(p);
  if (!conf) return conf.status();
  auto admin = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!admin) return admin.status();
  rd_kafka_t* rk = admin->get();
  auto info = kafka::describe_topic(rk, topic, std::chrono::seconds(10));
  if (!info) return info.status();
  if (!info->exists) return not_found("topic " + topic + " does not exist", "topic");
  std::map<std::string, std::string> out;
  out["partitions"] = std::to_string(info->partitions);

  rd_kafka_ConfigResource_t* res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_DescribeConfigs(rk, &res, 1, nullptr, q);
  rd_kafka_ConfigResource_destroy(res);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 15000);
  rd_kafka_queue_destroy(q);
  if (ev == nullptr) return io_error("DescribeConfigs of " + topic + ": no answer in time");
  Status s = rd_kafka_event_error(ev) ? kafka::error_status(rd_kafka_event_error(ev), "DescribeConfigs") : Status();
  if (s.is_ok()) {
    size_t n = 0;
    const rd_kafka_ConfigResource_t** rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
      size_t m = 0;
      const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(rs[i], &m);
      for (size_t j = 0; j < m; ++j) {
        const char* v = rd_kafka_ConfigEntry_value(entries[j]);
        out[rd_kafka_ConfigEntry_name(entries[j])] = v ? v : "";
      }
    }
  }
  rd_kafka_event_destroy(ev);
  if (!s.is_ok()) return s;
  return out;
}

std::string ExactlyOnceReport::summary() const {
  return std::to_string(messages) + " messages, " + std::to_string(duplicates) + " duplicates, " +
         std::to_string(missing) + " missing, " + std::to_string(out_of_order) + " out of order, " +
         std::to_string(wrong_partition) + " on a second partition, " + std::to_string(header_mismatches) +
         " header mismatches" + (first_problem.empty() ? "" : "; first: " + first_problem);
}

ExactlyOnceReport check_exactly_once(const std::vector<TopicMessage>& messages, uint64_t head) {
  ExactlyOnceReport r;
  r.messages = messages.size();
  std::vector<uint32_t> seen(head + 1, 0);
  struct KeyState {
    uint64_t last = 0;
    int32_t partition = -1;
  };
  std::unordered_map<std::string, KeyState> keys;
  auto problem = [&r](const std::string& what) {
    if (r.first_problem.empty()) r.first_problem = what;
  };
  for (const TopicMessage& m : messages) {
    auto e = parse_event_message(m.value);
    if (!e) {
      ++r.header_mismatches;
      problem("offset " + std::to_string(m.offset) + " does not parse: " + e.status().to_string());
      continue;
    }
    const uint64_t pos = e->position.value();
    if (pos > head) {
      ++r.duplicates;  // not an event of this log
      problem("position " + std::to_string(pos) + " is beyond the head " + std::to_string(head));
      continue;
    }
    if (++seen[pos] == 2) {
      ++r.duplicates;
      problem("position " + std::to_string(pos) + " seen twice");
    }
    const std::string expected_key = e->partner.empty() ? e->stream : e->partner;
    if (m.key != expected_key) {
      ++r.header_mismatches;
      problem("position " + std::to_string(pos) + " has key '" + m.key + "', expected '" + expected_key + "'");
    }
    KeyState& k = keys[m.key];
    if (k.partition >= 0 && k.partition != m.partition) {
      ++r.wrong_partition;
      problem("key " + m.key + " on partitions " + std::to_string(k.partition) + " and " + std::to_string(m.partition));
    }
    if (pos <= k.last) {
      ++r.out_of_order;
      problem("key " + m.key + ": position " + std::to_string(pos) + " after " + std::to_string(k.last));
    }
    k.partition = m.partition;
    k.last = std::max(k.last, pos);
    std::map<std::string, std::string> h(m.headers.begin(), m.headers.end());
    if (h["position"] != std::to_string(pos) || h["stream"] != e->stream || h["event_type"] != e->type ||
        h["version"] != std::to_string(e->version.value()) ||
        h["schema_version"] != std::to_string(e->schema_version) || h["event_id"] != e->event_id.to_string()) {
      ++r.header_mismatches;
      problem("position " + std::to_string(pos) + ": headers disagree with the value");
    }
  }
  for (uint64_t p = 1; p <= head; ++p) {
    if (seen[p] == 0) {
      ++r.missing;
      problem("position " + std::to_string(p) + " missing");
    }
  }
  return r;
}

}  // namespace accountable::testing
