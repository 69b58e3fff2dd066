// Exports of a partner's events for auditors' own tools, and their check
// against the log (docs/audit.md, "Exports"). `acct export` and
// `acct verify-export` are thin wrappers.
//
// An export is every event of the partner (aggregates/partner_history.h) with
// its envelope and its payload as JSON (event_to_json): personal data opened
// while its subject's key exists, {"erased": true} after a purge. The last
// line is a trailer: the log's head position and head hash when the export
// was taken, and the latest signed checkpoint at or before that head
// (events/signed_checkpoint.h), so the export can be tied to a signature.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aggregates/partner_history.h"
#include "events/env.h"
#include "events/signed_checkpoint.h"

namespace accountable {

enum class ExportFormat { kJsonl, kCsv };

// The export's lines, without line ends: JSONL (events, then the trailer) or
// CSV (a header, events, then the trailer row). `data_dir` is read for the
// signed checkpoints; none there gives a null checkpoint.
Result<std::vector<std::string>> export_partner(const PartnerLog& log, PersonalDataCipher* cipher, Env* env,
                                                const std::string& data_dir, const PartnerId& partner,
                                                ExportFormat format);

struct ExportCheck {
  bool ok = false;
  size_t events = 0;           // event lines checked
  size_t line = 0;             // first mismatch: 1-based line of the export file (0: none)
  std::string field;           // and the field there ("data.profile.email", "hash", "head_hash", ...)
  std::string message;         // what differs
  std::vector<std::string> notes;  // what was checked, for the report
};

// Re-derives the partner's events from the log up to the trailer's head
// position and compares them with the export line by line; checks that the
// log's hash at that position is the trailer's head hash, that the signed
// checkpoint matches the log's hash at its position and, given a public key,
// that its signature is valid. kInvalidArgument when the text is not an export.
Result<ExportCheck> verify_export(const EventLog& log, PersonalDataCipher* cipher, std::string_view export_text,
                                  const std::optional<PublicKey>& public_key);

}  // namespace accountable
