/*
 * reachline_matcher.h: the C ABI of the Reachline deterrence matcher.
 *
 * Build a matcher once from list texts, then check search queries, URLs, PDQ hashes,
 * MD5 / SHA-256 digests and images against it. Results come back as JSON strings.
 *
 * Link with the static library (libreachline_matcher_ffi.a, plus
 * -lpthread -ldl -lm on Linux) or the shared one (libreachline_matcher_ffi.so).
 * Written by hand to match crates/reachline-matcher-ffi/src/lib.rs; a test checks that
 * every exported function is declared here and a C program calls them.
 *
 * Conventions
 * - Strings passed in are NUL-terminated UTF-8 and are only borrowed for the call.
 * - Functions that can fail return a status (REACHLINE_OK is 0). If `error` is not NULL,
 *   *error is set to NULL on success, or to a message on failure; the message never
 *   repeats the input. Free messages and JSON with reachline_string_free().
 * - Nothing unwinds into C: an internal error is returned as REACHLINE_PANIC.
 * - A matcher is immutable: any number of threads may check against it at once. A
 *   builder must be used by one thread at a time.
 *
 * Example
 *
 *   ReachlineBuilder *b = reachline_builder_new();
 *   char *err = NULL, *json = NULL;
 *   reachline_builder_add_keywords_csv(b, "terms",
 *       "term,category,match,language\nbluepineapple,test,word,en\n", &err);
 *   ReachlineMatcher *m = NULL;
 *   if (reachline_builder_build(b, &m, &err) == REACHLINE_OK &&
 *       reachline_check_query(m, "b l u e p1neapple", &json, &err) == REACHLINE_OK) {
 *       puts(json);   // [{"entry_id":"terms:2","list":"terms","category":"test",...}]
 *   }
 *   reachline_string_free(json);
 *   reachline_string_free(err);
 *   reachline_matcher_free(m);
 */
#ifndef REACHLINE_MATCHER_H
#define REACHLINE_MATCHER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. */
#define REACHLINE_OK 0
/* A required pointer was NULL, or a string was not valid UTF-8. */
#define REACHLINE_INVALID_ARGUMENT 1
/* The matcher rejected the input or a list line (malformed hash, URL or line, input over
 * the length limit, undecodable image); the message says why. */
#define REACHLINE_BAD_INPUT 2
/* An internal error (a panic) was caught at the boundary. The library is still usable. */
#define REACHLINE_PANIC 3

/* A matcher under construction. */
typedef struct ReachlineBuilder ReachlineBuilder;
/* An immutable, thread-safe matcher. */
typedef struct ReachlineMatcher ReachlineMatcher;

/* The library version, e.g. "0.1.0". Static: do not free. */
const char *reachline_version(void);

/* A new builder with the default configuration (PDQ threshold 31, PDQ quality gate 50,
 * queries up to 4096 bytes). NULL only on an internal error. */
ReachlineBuilder *reachline_builder_new(void);

/* Frees a builder that was not passed to reachline_builder_build(). NULL is ignored. */
void reachline_builder_free(ReachlineBuilder *builder);

/* Adds keywords, CSV `term,category,match,language` (match: word | phrase | substring,
 * default word). A header line, blank lines and # comments are skipped. Entry ids are
 * "LIST:LINE". */
int32_t reachline_builder_add_keywords_csv(ReachlineBuilder *builder, const char *list,
                                           const char *csv, char **error);

/* Adds URLs, one per line: a URL or expression ("http://bad.example/a/",
 * "bad.example/a/") or "sha256:" and 64 hex digits of an expression's SHA-256. Only
 * digests are kept. Every entry gets `category`. */
int32_t reachline_builder_add_url_lines(ReachlineBuilder *builder, const char *list,
                                        const char *category, const char *lines,
                                        char **error);

/* Adds hashes, CSV `kind,hash,category` (kind: pdq | md5 | sha256; hash in hex). */
int32_t reachline_builder_add_hashes_csv(ReachlineBuilder *builder, const char *list,
                                         const char *csv, char **error);

/* Sets one list's PDQ distance threshold (inclusive, 0 to 256; default 31). */
int32_t reachline_builder_set_pdq_threshold(ReachlineBuilder *builder, const char *list,
                                            uint32_t threshold, char **error);

/* Builds the matcher. Always consumes `builder` (do not use or free it afterwards).
 * On success *matcher_out is the matcher, else NULL. */
int32_t reachline_builder_build(ReachlineBuilder *builder, ReachlineMatcher **matcher_out,
                                char **error);

/* Frees a matcher. NULL is ignored. No other thread may be using it. */
void reachline_matcher_free(ReachlineMatcher *matcher);

/* Frees a string returned by the library (JSON or error message). NULL is ignored. */
void reachline_string_free(char *s);

/* The checks. On success *json_out is a JSON array of matches ("[]" if none). Each match
 * is an object with "entry_id", "list", "category" and "kind" ("keyword" with "mode",
 * "url", "pdq" with "distance", "md5", "sha256"). The listed term, URL or hash itself is
 * never returned. */
int32_t reachline_check_query(const ReachlineMatcher *matcher, const char *query,
                              char **json_out, char **error);
int32_t reachline_check_url(const ReachlineMatcher *matcher, const char *url,
                            char **json_out, char **error);
/* 64 hex digits; matches are sorted by distance, closest first. */
int32_t reachline_check_pdq(const ReachlineMatcher *matcher, const char *pdq_hex,
                            char **json_out, char **error);
/* 32 hex digits. */
int32_t reachline_check_md5(const ReachlineMatcher *matcher, const char *md5_hex,
                            char **json_out, char **error);
/* 64 hex digits. */
int32_t reachline_check_sha256(const ReachlineMatcher *matcher, const char *sha256_hex,
                               char **json_out, char **error);

/* Hashes a JPEG or PNG and checks its MD5, SHA-256 and PDQ hash. *json_out is an object:
 * {"pdq":"<64 hex>","quality":87,"low_quality":false,"matches":[...]}. A PDQ hash of
 * quality below 50 is not compared (low_quality is true); exact digests still are. */
int32_t reachline_check_image(const ReachlineMatcher *matcher, const uint8_t *data,
                              size_t len, char **json_out, char **error);

/* Counts of what the matcher holds, as a JSON object (keywords, keyword_patterns,
 * keyword_automaton, url_digests, pdq_hashes, md5, sha256). */
int32_t reachline_matcher_stats(const ReachlineMatcher *matcher, char **json_out,
                                char **error);

#ifdef __cplusplus
}
#endif

#endif /* REACHLINE_MATCHER_H */
