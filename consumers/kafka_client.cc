#include "consumers/kafka_client.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <spdlog/spdlog.h>

namespace accountable::kafka {

void log_to_spdlog(const rd_kafka_t*, int level, const char* facility, const char* message) {
  if (level <= 3) {
    spdlog::error("kafka {}: {}", facility, message);
  } else if (level == 4) {
    spdlog::warn("kafka {}: {}", facility, message);
  } else {
    spdlog::debug("kafka {}: {}", facility, message);
  }
}

Result<Conf> make_conf(const Properties& props) {
  Conf conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [name, value] : props) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return invalid_argument("kafka setting " + name + "=" + value + ": " + err, "kafka." + name);
    }
  }
  return conf;
}

Result<Handle> make_client(rd_kafka_type_t type, Conf conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (rk == nullptr) return invalid_argument(std::string("kafka client: ") + err, "kafka");
  conf.release();  // rd_kafka_new took it
  return Handle(rk);
}

Status error_status(rd_kafka_resp_err_t err, const std::string& what, const std::string& field) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::ok();
  return Status(StatusCode::kIOError, what + ": " + rd_kafka_err2name(err) + ": " + rd_kafka_err2str(err), field);
}

Status error_status(const rd_kafka_error_t* err, const std::string& what, const std::string& field) {
  if (err == nullptr) return Status::ok();
  return Status(StatusCode::kIOError, what + ": " + rd_kafka_error_name(err) + ": " + rd_kafka_error_string(err),
                field);
}

int to_ms(std::chrono::milliseconds d) {
  const auto ms = std::clamp<int64_t>(d.count(), 0, std::numeric_limits<int>::max());
  return static_cast<int>(ms);
}

Status parse_property(const std::string& text, Properties* out, const std::string& field) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return invalid_argument("expected KEY=VALUE (a librdkafka property), got '" + text + "'", field);
  }
  (*out)[text.substr(0, eq)] = text.substr(eq + 1);
  return Status::ok();
}

Result<TopicInfo> describe_topic(rd_kafka_t* rk, const std::string& topic, std::chrono::milliseconds timeout) {
  // A topic handle asks for this topic's metadata only (no auto-creation:
  // allow.auto.create.topics is false for consumers and brokers here).
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rkt == nullptr) return error_status(rd_kafka_last_error(), "topic handle for " + topic, "topic");
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, to_ms(timeout));
  rd_kafka_topic_destroy(rkt);
  if (err) return error_status(err, "metadata of topic " + topic, "topic");
  TopicInfo info;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) break;
    if (t.err) {
      Status s = error_status(t.err, "metadata of topic " + topic, "topic");
      rd_kafka_metadata_destroy(md);
      return s;
    }
    info.exists = true;
    info.partitions = t.partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return info;
}

Status create_topics(rd_kafka_t* rk, const std::vector<NewTopic>& topics, std::chrono::milliseconds timeout) {
  if (topics.empty()) return Status::ok();
  char err[512];
  std::vector<rd_kafka_NewTopic_t*> news;
  auto free_news = [&news] {
    for (auto* t : news) rd_kafka_NewTopic_destroy(t);
  };
  for (const NewTopic& t : topics) {
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication_factor, err, sizeof err);
    if (nt == nullptr) {
      free_news();
      return invalid_argument("topic " + t.name + ": " + err, "topic");
    }
    news.push_back(nt);
    for (const auto& [name, value] : t.config) {
      if (rd_kafka_resp_err_t e = rd_kafka_NewTopic_set_config(nt, name.c_str(), value.c_str())) {
        free_news();
        return error_status(e, "topic " + t.name + " setting " + name, "topic");
      }
    }
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, to_ms(timeout), err, sizeof err);
  rd_kafka_AdminOptions_set_request_timeout(options, to_ms(timeout), err, sizeof err);
  rd_kafka_CreateTopics(rk, news.data(), news.size(), options, queue);
  free_news();
  rd_kafka_AdminOptions_destroy(options);

  // Bounded: the request itself times out, plus a margin for the reply.
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, to_ms(timeout) + 5000);
  rd_kafka_queue_destroy(queue);
  if (ev == nullptr) {
    return Status(StatusCode::kIOError, "creating topics: no answer from the cluster in time", "topic");
  }
  Status result;
  if (rd_kafka_event_error(ev)) {
    result = error_status(rd_kafka_event_error(ev), "creating topics", "topic");
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n && result.is_ok(); ++i) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
      const char* why = rd_kafka_topic_result_error_string(res[i]);
      result = Status(StatusCode::kIOError,
                      std::string("creating topic ") + rd_kafka_topic_result_name(res[i]) + ": " +
                          rd_kafka_err2name(e) + ": " + (why ? why : rd_kafka_err2str(e)),
                      "topic");
    }
  }
  rd_kafka_event_destroy(ev);
  return result;
}

Status delete_topics(rd_kafka_t* rk, const std::vector<std::string>& topics, std::chrono::milliseconds timeout) {
  if (topics.empty()) return Status::ok();
  std::vector<rd_kafka_DeleteTopic_t*> dels;
  for (const std::string& t : topics) dels.push_back(rd_kafka_DeleteTopic_new(t.c_str()));
  char err[512];
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, to_ms(timeout), err, sizeof err);
  rd_kafka_DeleteTopics(rk, dels.data(), dels.size(), options, queue);
  for (auto* d : dels) rd_kafka_DeleteTopic_destroy(d);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, to_ms(timeout) + 5000);
  rd_kafka_queue_destroy(queue);
  if (ev == nullptr) return Status(StatusCode::kIOError, "deleting topics: no answer from the cluster in time", "topic");
  Status result;
  if (rd_kafka_event_error(ev)) {
    result = error_status(rd_kafka_event_error(ev), "deleting topics", "topic");
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    for (size_t i = 0; i < n && result.is_ok(); ++i) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) continue;
      result = error_status(e, std::string("deleting topic ") + rd_kafka_topic_result_name(res[i]), "topic");
    }
  }
  rd_kafka_event_destroy(ev);
  return result;
}

}  // namespace accountable::kafka
