#include "cluster/cluster_report.h"

#include <map>
#include <set>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "cluster/cluster_records.h"

namespace accountable::cluster {

namespace json = boost::json;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

// GET <base>/healthz as JSON; bounded by `timeout` as a whole.
Result<json::object> get_health(const std::string& base, std::chrono::milliseconds timeout) {
  const std::string prefix = "http://";
  if (base.rfind(prefix, 0) != 0) return invalid_argument("only http:// URLs are read: " + base, "advertise");
  std::string host_port = base.substr(prefix.size());
  if (const size_t slash = host_port.find('/'); slash != std::string::npos) host_port.resize(slash);
  const size_t colon = host_port.rfind(':');
  const std::string host = colon == std::string::npos ? host_port : host_port.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : host_port.substr(colon + 1);
  try {
    net::io_context io;
    net::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(host, port));
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, host_port);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    beast::error_code ec;
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
    json::value v = json::parse(res.body());
    if (!v.is_object()) return Status(StatusCode::kInternal, base + "/healthz did not answer a JSON object");
    return v.as_object();
  } catch (const std::exception& e) {
    return Status(StatusCode::kUnavailable, base + "/healthz: " + e.what());
  }
}

// The client ids of the leaders' group's members (each node's is its node id).
Result<std::set<std::string>> group_members(const ReportOptions& o) {
  auto conf = kafka::make_conf(o.client);
  if (!conf) return conf.status();
  rd_kafka_conf_set_log_cb(conf->get(), &kafka::log_to_spdlog);
  auto admin = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!admin) return admin.status();
  const rd_kafka_group_list* list = nullptr;
  const std::string group = o.name + ".leaders";
  if (rd_kafka_resp_err_t err = rd_kafka_list_groups(admin->get(), group.c_str(), &list, kafka::to_ms(o.timeout))) {
    return kafka::error_status(err, "describing the group " + group);
  }
  std::set<std::string> members;
  for (int g = 0; g < list->group_cnt; ++g) {
    for (int m = 0; m < list->groups[g].member_cnt; ++m) members.insert(list->groups[g].members[m].client_id);
  }
  rd_kafka_group_list_destroy(list);
  return members;
}

uint64_t u64(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_number() ? v->to_number<uint64_t>() : 0;
}

}  // namespace

Result<json::object> cluster_report(const ReportOptions& o) {
  auto records = read_cluster_records(o.client, o.name + ".cluster", o.timeout);
  if (!records) return records.status();
  auto cluster = records->find("cluster");
  if (cluster == records->end()) {
    return Status(StatusCode::kNotFound, "no cluster named " + o.name + " at these brokers (topic " + o.name +
                                             ".cluster has no cluster record)");
  }
  auto members = group_members(o);
  if (!members) return members.status();

  json::object out;
  out["cluster"] = o.name;
  for (const char* key : {"shards", "created_by", "created_at"}) {
    if (const json::value* v = cluster->second.if_contains(key)) out[key] = *v;
  }
  json::array member_list;
  for (const std::string& m : *members) member_list.push_back(json::value(m));
  out["members"] = std::move(member_list);

  json::array leaders;
  std::map<std::string, std::string> leader_of_shard;  // shard -> node id
  for (const auto& [key, value] : *records) {
    if (key.rfind("leader/", 0) != 0) continue;
    leaders.push_back(value);
    if (const json::value* n = value.if_contains("node_id"); n && n->is_string()) {
      leader_of_shard[key.substr(7)] = std::string(n->as_string());
    }
  }
  out["leaders"] = std::move(leaders);

  // Each node's view of itself, then the lag in positions behind the leader's head.
  json::array nodes;
  std::map<std::string, uint64_t> leader_head;  // shard -> head, as the leader reports it
  for (const auto& [key, value] : *records) {
    if (key.rfind("node/", 0) != 0) continue;
    json::object node;
    const std::string id = key.substr(5);
    node["node_id"] = id;
    const json::value* advertise = value.if_contains("advertise");
    node["advertise"] = advertise ? *advertise : json::value("");
    node["member"] = members->count(id) > 0;
    auto health = advertise && advertise->is_string() ? get_health(std::string(advertise->as_string()), o.timeout)
                                                      : Result<json::object>(invalid_argument("no URL", "advertise"));
    node["reachable"] = health.is_ok();
    json::array shards;
    if (health) {
      const json::value* c = health->if_contains("cluster");
      const json::value* list = c && c->is_object() ? c->as_object().if_contains("shard") : nullptr;
      if (list && list->is_array()) {
        for (const json::value& s : list->as_array()) {
          if (!s.is_object()) continue;
          json::object shard;
          for (const char* k : {"shard", "role", "head", "head_hash", "lag_batches", "lag_seconds",
                                "leadership_changes", "last_error"}) {
            if (const json::value* v = s.as_object().if_contains(k)) shard[k] = *v;
          }
          const std::string number = std::to_string(u64(s.as_object(), "shard"));
          const json::value* role = s.as_object().if_contains("role");
          if (role && role->is_string() && role->as_string() == "leader") leader_head[number] = u64(s.as_object(), "head");
          shards.push_back(std::move(shard));
        }
      }
    } else {
      node["error"] = health.status().message();
    }
    node["shards"] = std::move(shards);
    nodes.push_back(std::move(node));
  }
  for (json::value& node : nodes) {
    for (json::value& s : node.as_object()["shards"].as_array()) {
      const std::string number = std::to_string(u64(s.as_object(), "shard"));
      auto it = leader_head.find(number);
      if (it == leader_head.end()) continue;
      const uint64_t head = u64(s.as_object(), "head");
      s.as_object()["lag_positions"] = it->second > head ? it->second - head : 0;
    }
  }
  out["nodes"] = std::move(nodes);
  return out;
}

}  // namespace accountable::cluster
