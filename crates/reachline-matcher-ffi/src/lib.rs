//! A C ABI for the Reachline deterrence matcher, so that a platform written in another
//! language can embed it: build a matcher from list texts, check search queries, URLs and
//! hashes, and get the matches back as JSON. The header is `include/reachline_matcher.h`.
//!
//! # The API in one paragraph
//!
//! `reachline_builder_new` makes a builder; `reachline_builder_add_keywords_csv`,
//! `reachline_builder_add_url_lines` and `reachline_builder_add_hashes_csv` load lists in
//! the formats the matcher parses (keywords `term,category,match,language`; URLs one per
//! line or `sha256:` + hex; hashes `kind,hash,category`); `reachline_builder_build` turns
//! the builder into an immutable matcher. `reachline_check_query`, `reachline_check_url`,
//! `reachline_check_pdq`, `reachline_check_md5`, `reachline_check_sha256` and
//! `reachline_check_image` return a JSON array of matches (or, for images, an object).
//! Every string the library returns is freed with `reachline_string_free`; the matcher
//! with `reachline_matcher_free`.
//!
//! # Errors and panics
//!
//! Functions that can fail return a status (`REACHLINE_OK` = 0, else one of the other
//! `REACHLINE_*` codes) and, if the caller passed a non-NULL `error` pointer, store a
//! newly allocated message in it (NULL on success). Messages never repeat the input: a
//! partner's query must not reach a log through an error. Nothing unwinds into C: every
//! entry point runs inside `catch_unwind`, and a panic becomes `REACHLINE_PANIC`.
//!
//! # Threads
//!
//! A matcher is immutable: any number of threads may check against one matcher at once.
//! A builder must be used by one thread at a time.
//!
//! # Why `unsafe` is allowed here
//!
//! The workspace forbids `unsafe_code`. This crate is the audited exception, because
//! taking pointers from C cannot be done without it. Each `unsafe` block says why it is
//! sound (`SAFETY:`), each exported function documents what the caller must guarantee
//! (`# Safety`), and the unsafe code is confined to turning C arguments into Rust values
//! (the helpers `text`, `bytes`, `set_out`, `borrow_builder`, `borrow_matcher`) and to owning boxes across the boundary.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use reachline_matcher::{Match, Matcher, MatcherBuilder};

/// Success.
pub const REACHLINE_OK: i32 = 0;
/// A required pointer was NULL, or a string was not valid UTF-8.
pub const REACHLINE_INVALID_ARGUMENT: i32 = 1;
/// The matcher rejected the input or a list (a malformed hash, URL or line, an input
/// over the length limit, an undecodable image). The message says why.
pub const REACHLINE_BAD_INPUT: i32 = 2;
/// An internal error was caught at the boundary (a panic). The library is still usable.
pub const REACHLINE_PANIC: i32 = 3;

/// A matcher under construction (opaque to C).
pub struct ReachlineBuilder(MatcherBuilder);

/// An immutable matcher (opaque to C).
pub struct ReachlineMatcher(Matcher);

/// Why a call failed: a status code and a message without any of the input in it.
struct Failure {
    status: i32,
    message: String,
}

impl Failure {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: REACHLINE_INVALID_ARGUMENT,
            message: message.into(),
        }
    }

    fn internal(message: impl Into<String>) -> Self {
        Self {
            status: REACHLINE_PANIC,
            message: message.into(),
        }
    }
}

impl From<reachline_matcher::Error> for Failure {
    fn from(e: reachline_matcher::Error) -> Self {
        // The matcher's messages never repeat the input (see its `error` module).
        Self {
            status: REACHLINE_BAD_INPUT,
            message: e.to_string(),
        }
    }
}

/// A C string the caller will free with `reachline_string_free`. Interior NUL bytes
/// cannot occur in our JSON or messages; if one did, it is replaced rather than failing.
fn into_c_string(s: String) -> *mut c_char {
    let c = CString::new(s).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    });
    c.into_raw()
}

/// Stores `value` in `*out` if `out` is not NULL.
///
/// # Safety
///
/// `out` is NULL or valid for writing one pointer.
unsafe fn set_out<T>(out: *mut *mut T, value: *mut T) {
    if !out.is_null() {
        // SAFETY: `out` is not NULL and the caller guarantees it is valid for writes.
        unsafe { out.write(value) };
    }
}

/// Runs `body` so that no panic crosses into C, and reports failures through `error`.
///
/// # Safety
///
/// `error` is NULL or valid for writing one pointer.
unsafe fn guard(error: *mut *mut c_char, body: impl FnOnce() -> Result<(), Failure>) -> i32 {
    // SAFETY: the caller's guarantee about `error` is passed on.
    unsafe { set_out(error, ptr::null_mut()) };
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return REACHLINE_OK,
        Ok(Err(failure)) => failure,
        Err(_) => Failure::internal("internal error in the matcher (a panic was caught)"),
    };
    if !error.is_null() {
        // Building the message allocates; keep even that from unwinding into C.
        let message = catch_unwind(|| into_c_string(failure.message)).unwrap_or(ptr::null_mut());
        // SAFETY: `error` is not NULL and the caller guarantees it is valid for writes.
        unsafe { error.write(message) };
    }
    failure.status
}

/// Borrows a NUL-terminated UTF-8 string from C.
///
/// # Safety
///
/// `p` is NULL or points to a NUL-terminated string that stays valid and unchanged for
/// `'a`.
unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::invalid(format!("{what} is NULL")));
    }
    // SAFETY: not NULL, and the caller guarantees a valid NUL-terminated string.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map_err(|_| Failure::invalid(format!("{what} is not valid UTF-8")))
}

/// Borrows `len` bytes from C.
///
/// # Safety
///
/// `p` is NULL (then `len` must be 0) or valid for reading `len` bytes for `'a`.
unsafe fn bytes<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::invalid(format!("{what} is NULL")))
        };
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!("{what} is too long")));
    }
    // SAFETY: not NULL, at most isize::MAX bytes, and the caller guarantees `len`
    // readable bytes that outlive the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Borrows the builder behind a pointer from C.
///
/// # Safety
///
/// `b` is NULL or a live builder from `reachline_builder_new` not used by another thread.
unsafe fn borrow_builder<'a>(b: *mut ReachlineBuilder) -> Result<&'a mut MatcherBuilder, Failure> {
    // SAFETY: the caller guarantees a live, unshared builder or NULL.
    unsafe { b.as_mut() }
        .map(|b| &mut b.0)
        .ok_or_else(|| Failure::invalid("builder is NULL"))
}

/// Borrows the matcher behind a pointer from C.
///
/// # Safety
///
/// `m` is NULL or a live matcher from `reachline_builder_build`.
unsafe fn borrow_matcher<'a>(m: *const ReachlineMatcher) -> Result<&'a Matcher, Failure> {
    // SAFETY: the caller guarantees a live matcher or NULL; it is only read.
    unsafe { m.as_ref() }
        .map(|m| &m.0)
        .ok_or_else(|| Failure::invalid("matcher is NULL"))
}

fn to_json(value: &impl serde::Serialize) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(|_| Failure::internal("matches could not be encoded"))
}

/// The library's version, e.g. `"0.1.0"`: a static string, never freed.
#[no_mangle]
pub extern "C" fn reachline_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A new, empty builder with the default configuration (PDQ threshold 31, quality gate
/// 50, queries up to 4096 bytes). NULL only if an internal error occurred. Free it with
/// `reachline_builder_free` unless it is passed to `reachline_builder_build`.
#[no_mangle]
pub extern "C" fn reachline_builder_new() -> *mut ReachlineBuilder {
    catch_unwind(|| Box::into_raw(Box::new(ReachlineBuilder(MatcherBuilder::new()))))
        .unwrap_or(ptr::null_mut())
}

/// Frees a builder that was not built. NULL is ignored.
///
/// # Safety
///
/// `builder` is NULL or a builder from `reachline_builder_new` that has not been freed or
/// passed to `reachline_builder_build`; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn reachline_builder_free(builder: *mut ReachlineBuilder) {
    if builder.is_null() {
        return;
    }
    // SAFETY: the caller hands back ownership of a box made by `reachline_builder_new`.
    let owned = unsafe { Box::from_raw(builder) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(owned)));
}

/// Adds a keyword list in the CSV format `term,category,match,language` (`match` is
/// `word`, `phrase` or `substring`; a header line, blank lines and `#` comments are
/// skipped). Entry ids are `LIST:LINE`. On a bad line nothing after it is added and the
/// message names the line number (never its content).
///
/// # Safety
///
/// `builder` is a live builder used by no other thread; `list` and `csv` are
/// NUL-terminated strings; `error` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn reachline_builder_add_keywords_csv(
    builder: *mut ReachlineBuilder,
    list: *const c_char,
    csv: *const c_char,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: every pointer is as the caller guarantees above.
    unsafe {
        guard(error, || {
            let b = borrow_builder(builder)?;
            b.add_keywords_csv(text(list, "list")?, text(csv, "csv")?)?;
            Ok(())
        })
    }
}

/// Adds a URL list: one URL or expression per line (`http://bad.example/a/`,
/// `bad.example/a/`), or `sha256:` and the 64-hex-digit SHA-256 of an expression. Only
/// digests are kept. Entry ids are `LIST:LINE`; every entry gets `category`.
///
/// # Safety
///
/// `builder` is a live builder used by no other thread; `list`, `category` and `lines`
/// are NUL-terminated strings; `error` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn reachline_builder_add_url_lines(
    builder: *mut ReachlineBuilder,
    list: *const c_char,
    category: *const c_char,
    lines: *const c_char,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: every pointer is as the caller guarantees above.
    unsafe {
        guard(error, || {
            let b = borrow_builder(builder)?;
            b.add_url_lines(
                text(list, "list")?,
                text(category, "category")?,
                text(lines, "lines")?,
            )?;
            Ok(())
        })
    }
}

/// Adds a hash list in the CSV format `kind,hash,category` (`kind` is `pdq`, `md5` or
/// `sha256`, the hash in hex). Entry ids are `LIST:LINE`.
///
/// # Safety
///
/// `builder` is a live builder used by no other thread; `list` and `csv` are
/// NUL-terminated strings; `error` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn reachline_builder_add_hashes_csv(
    builder: *mut ReachlineBuilder,
    list: *const c_char,
    csv: *const c_char,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: every pointer is as the caller guarantees above.
    unsafe {
        guard(error, || {
            let b = borrow_builder(builder)?;
            b.add_hashes_csv(text(list, "list")?, text(csv, "csv")?)?;
            Ok(())
        })
    }
}

/// Sets the PDQ distance threshold (inclusive, 0–256) of one list; lists without one use
/// 31.
///
/// # Safety
///
/// `builder` is a live builder used by no other thread; `list` is a NUL-terminated
/// string; `error` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn reachline_builder_set_pdq_threshold(
    builder: *mut ReachlineBuilder,
    list: *const c_char,
    threshold: u32,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: every pointer is as the caller guarantees above.
    unsafe {
        guard(error, || {
            let b = borrow_builder(builder)?;
            b.pdq_threshold(text(list, "list")?, threshold)?;
            Ok(())
        })
    }
}

/// Builds the matcher and consumes the builder, whatever the outcome: do not use or free
/// `builder` afterwards. On success `*matcher_out` is the new matcher (free it with
/// `reachline_matcher_free`); on failure it is NULL.
///
/// # Safety
///
/// `builder` is NULL or a live builder from `reachline_builder_new` used by no other
/// thread; `matcher_out` is valid for writing one pointer; `error` is NULL or valid for
/// writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn reachline_builder_build(
    builder: *mut ReachlineBuilder,
    matcher_out: *mut *mut ReachlineMatcher,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: `matcher_out` is NULL or writable, as the caller guarantees.
    unsafe { set_out(matcher_out, ptr::null_mut()) };
    // SAFETY: the caller hands over ownership of the builder (NULL is checked first).
    let owned = (!builder.is_null()).then(|| unsafe { Box::from_raw(builder) });
    // SAFETY: `error` is as the caller guarantees.
    unsafe {
        guard(error, || {
            if matcher_out.is_null() {
                return Err(Failure::invalid("matcher_out is NULL"));
            }
            let b = owned.ok_or_else(|| Failure::invalid("builder is NULL"))?;
            let built = b.0.build()?;
            let raw = Box::into_raw(Box::new(ReachlineMatcher(built)));
            // SAFETY: checked not NULL above; writable as the caller guarantees.
            set_out(matcher_out, raw);
            Ok(())
        })
    }
}

/// Frees a matcher. NULL is ignored.
///
/// # Safety
///
/// `matcher` is NULL or a matcher from `reachline_builder_build` that has not been freed
/// and that no other thread is using; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn reachline_matcher_free(matcher: *mut ReachlineMatcher) {
    if matcher.is_null() {
        return;
    }
    // SAFETY: the caller hands back ownership of a box made by `reachline_builder_build`.
    let owned = unsafe { Box::from_raw(matcher) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(owned)));
}

/// Frees a string returned by this library (JSON or an error message). NULL is ignored.
///
/// # Safety
///
/// `s` is NULL or a string returned by this library that has not been freed yet.
#[no_mangle]
pub unsafe extern "C" fn reachline_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: the string came from `CString::into_raw` in this library.
    let owned = unsafe { CString::from_raw(s) };
    drop(owned);
}

/// Shared body of the `reachline_check_*` functions that take one string.
///
/// # Safety
///
/// As for the exported functions: a live matcher, a NUL-terminated `input`, `json_out`
/// valid for writing, `error` NULL or valid for writing.
unsafe fn check_text(
    matcher_ptr: *const ReachlineMatcher,
    input: *const c_char,
    what: &str,
    json_out: *mut *mut c_char,
    error: *mut *mut c_char,
    check: impl FnOnce(&Matcher, &str) -> Result<Vec<Match>, reachline_matcher::Error>,
) -> i32 {
    // SAFETY: `json_out` is NULL or writable, as the caller guarantees.
    unsafe { set_out(json_out, ptr::null_mut()) };
    // SAFETY: every pointer is as the caller guarantees.
    unsafe {
        guard(error, || {
            if json_out.is_null() {
                return Err(Failure::invalid("json_out is NULL"));
            }
            let m = borrow_matcher(matcher_ptr)?;
            let found = check(m, text(input, what)?)?;
            let json = into_c_string(to_json(&found)?);
            // SAFETY: checked not NULL above; writable as the caller guarantees.
            set_out(json_out, json);
            Ok(())
        })
    }
}

/// Checks a search query against the keyword lists. On success `*json_out` is a JSON
/// array of matches, `[]` if none, e.g.
/// `[{"entry_id":"terms:2","list":"terms","category":"test","kind":"keyword","mode":"word"}]`.
///
/// # Safety
///
/// `matcher` is a live matcher; `query` is a NUL-terminated string; `json_out` is valid
/// for writing one pointer; `error` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn reachline_check_query(
    matcher: *const ReachlineMatcher,
    query: *const c_char,
    json_out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: passed on from the caller's guarantees.
    unsafe {
        check_text(
            matcher,
            query,
            "query",
            json_out,
            error,
            Matcher::check_query,
        )
    }
}

/// Checks a URL against the URL lists (canonicalised as Safe Browsing does; every
/// host-suffix × path-prefix expression). Matches have `"kind":"url"`.
///
/// # Safety
///
/// As for `reachline_check_query`, with `url` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn reachline_check_url(
    matcher: *const ReachlineMatcher,
    url: *const c_char,
    json_out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: passed on from the caller's guarantees.
    unsafe { check_text(matcher, url, "url", json_out, error, Matcher::check_url) }
}

/// Checks a PDQ hash (64 hex digits) against the PDQ lists, closest first. Matches have
/// `"kind":"pdq"` and a `"distance"`.
///
/// # Safety
///
/// As for `reachline_check_query`, with `pdq_hex` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn reachline_check_pdq(
    matcher: *const ReachlineMatcher,
    pdq_hex: *const c_char,
    json_out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: passed on from the caller's guarantees.
    unsafe {
        check_text(
            matcher,
            pdq_hex,
            "pdq_hex",
            json_out,
            error,
            Matcher::check_pdq_hex,
        )
    }
}

/// Checks an MD5 digest (32 hex digits) against the MD5 lists.
///
/// # Safety
///
/// As for `reachline_check_query`, with `md5_hex` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn reachline_check_md5(
    matcher: *const ReachlineMatcher,
    md5_hex: *const c_char,
    json_out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: passed on from the caller's guarantees.
    unsafe {
        check_text(
            matcher,
            md5_hex,
            "md5_hex",
            json_out,
            error,
            Matcher::check_md5,
        )
    }
}

/// Checks a SHA-256 digest (64 hex digits) against the SHA-256 lists.
///
/// # Safety
///
/// As for `reachline_check_query`, with `sha256_hex` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn reachline_check_sha256(
    matcher: *const ReachlineMatcher,
    sha256_hex: *const c_char,
    json_out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: passed on from the caller's guarantees.
    unsafe {
        check_text(
            matcher,
            sha256_hex,
            "sha256_hex",
            json_out,
            error,
            Matcher::check_sha256,
        )
    }
}

/// Hashes an image (JPEG or PNG bytes) and checks its MD5, SHA-256 and PDQ hash. On
/// success `*json_out` is an object:
/// `{"pdq":"<64 hex>","quality":87,"low_quality":false,"matches":[...]}`. A PDQ hash whose
/// quality is below the gate (50) is not compared (`low_quality` is true); exact digests
/// still are.
///
/// # Safety
///
/// `matcher` is a live matcher; `data` is valid for reading `len` bytes (or NULL with
/// `len` 0); `json_out` is valid for writing one pointer; `error` is NULL or valid for
/// writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn reachline_check_image(
    matcher: *const ReachlineMatcher,
    data: *const u8,
    len: usize,
    json_out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: `json_out` is NULL or writable, as the caller guarantees.
    unsafe { set_out(json_out, ptr::null_mut()) };
    // SAFETY: every pointer is as the caller guarantees above.
    unsafe {
        guard(error, || {
            if json_out.is_null() {
                return Err(Failure::invalid("json_out is NULL"));
            }
            let m = borrow_matcher(matcher)?;
            let checked = m.check_image_bytes(bytes(data, len, "data")?)?;
            let value = serde_json::json!({
                "pdq": checked.pdq.hash.to_hex(),
                "quality": checked.pdq.quality,
                "low_quality": checked.low_quality,
                "matches": checked.matches,
            });
            let json = into_c_string(to_json(&value)?);
            // SAFETY: checked not NULL above; writable as the caller guarantees.
            set_out(json_out, json);
            Ok(())
        })
    }
}

/// Counts of what the matcher holds, as a JSON object (`keywords`, `keyword_patterns`,
/// `keyword_automaton`, `url_digests`, `pdq_hashes`, `md5`, `sha256`).
///
/// # Safety
///
/// `matcher` is a live matcher; `json_out` is valid for writing one pointer; `error` is
/// NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn reachline_matcher_stats(
    matcher: *const ReachlineMatcher,
    json_out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> i32 {
    // SAFETY: `json_out` is NULL or writable, as the caller guarantees.
    unsafe { set_out(json_out, ptr::null_mut()) };
    // SAFETY: every pointer is as the caller guarantees above.
    unsafe {
        guard(error, || {
            if json_out.is_null() {
                return Err(Failure::invalid("json_out is NULL"));
            }
            let m = borrow_matcher(matcher)?;
            let json = into_c_string(to_json(&m.stats())?);
            // SAFETY: checked not NULL above; writable as the caller guarantees.
            set_out(json_out, json);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes back a string the library returned.
    fn take(s: *mut c_char) -> Option<String> {
        if s.is_null() {
            return None;
        }
        // SAFETY: test-only; `s` came from `into_c_string`.
        Some(unsafe { CString::from_raw(s) }.into_string().unwrap())
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let mut error: *mut c_char = ptr::null_mut();
        // SAFETY: `error` is a valid local.
        let status = unsafe {
            guard(&mut error, || {
                if error.is_null() {
                    panic!("boom");
                }
                Ok(())
            })
        };
        assert_eq!(status, REACHLINE_PANIC);
        let message = take(error).unwrap();
        assert!(message.contains("internal error"), "{message}");
        assert!(!message.contains("boom"));
    }

    #[test]
    fn null_arguments_are_reported_not_dereferenced() {
        let mut error: *mut c_char = ptr::null_mut();
        let mut json: *mut c_char = ptr::null_mut();
        // SAFETY: NULL where the API allows reporting it; locals are valid.
        let status =
            unsafe { reachline_check_query(ptr::null(), c"x".as_ptr(), &mut json, &mut error) };
        assert_eq!(status, REACHLINE_INVALID_ARGUMENT);
        assert!(json.is_null());
        assert_eq!(take(error).unwrap(), "matcher is NULL");

        let mut out: *mut ReachlineMatcher = ptr::null_mut();
        // SAFETY: as above.
        let status = unsafe { reachline_builder_build(ptr::null_mut(), &mut out, &mut error) };
        assert_eq!(status, REACHLINE_INVALID_ARGUMENT);
        assert!(out.is_null());
        assert_eq!(take(error).unwrap(), "builder is NULL");
    }

    #[test]
    fn interior_nul_bytes_never_fail_a_string() {
        let s = into_c_string("a\0b".to_owned());
        assert_eq!(take(s).unwrap(), "ab");
    }
}
