/*
 * Calls every function of reachline_matcher.h from C and prints one line per call:
 * "<label> <status> <json or error>". tests/c_abi.rs compiles this against the static
 * library, runs it and checks every line. Lists hold invented terms, reserved domains
 * (.example, .test), the PDQ hash of a benign conformance image (a photo of a bridge,
 * passed as IMAGE) and digests of empty input.
 *
 * Usage: smoke IMAGE   (a JPEG or PNG to hash)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reachline_matcher.h"

static void show(const char *label, int32_t status, char *json, char *error) {
    printf("%s %d %s\n", label, (int)status, json ? json : (error ? error : "(null)"));
    reachline_string_free(json);
    reachline_string_free(error);
}

static const ReachlineMatcher *shared;

/* Checks from several threads at once against one matcher; returns the match count. */
static void *worker(void *arg) {
    (void)arg;
    long found = 0;
    for (int i = 0; i < 500; i++) {
        char *json = NULL;
        const char *q = (i % 2) ? "b.l.u.e p1neapple" : "nothing to see";
        if (reachline_check_query(shared, q, &json, NULL) == REACHLINE_OK &&
            strstr(json, "\"entry_id\"") != NULL) {
            found++;
        }
        reachline_string_free(json);
    }
    return (void *)found;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: smoke IMAGE\n");
        return 2;
    }
    char *json = NULL, *error = NULL;
    int32_t s;

    printf("version %s\n", reachline_version());

    ReachlineBuilder *b = reachline_builder_new();
    if (!b) {
        return 1;
    }
    s = reachline_builder_add_keywords_csv(
        b, "terms",
        "term,category,match,language\n"
        "bluepineapple,test,word,en\n"
        "quiet harbour,test,phrase,en\n",
        &error);
    show("add_keywords", s, NULL, error);
    error = NULL;

    s = reachline_builder_add_url_lines(b, "urls", "test",
                                        "# invented\nhttp://quietharbour.example/gallery/\n",
                                        &error);
    show("add_urls", s, NULL, error);
    error = NULL;

    s = reachline_builder_add_hashes_csv(
        b, "hashes",
        "kind,hash,category\n"
        "pdq,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,test\n"
        "md5,d41d8cd98f00b204e9800998ecf8427e,empty\n"
        "sha256,e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,empty\n",
        &error);
    show("add_hashes", s, NULL, error);
    error = NULL;

    s = reachline_builder_set_pdq_threshold(b, "hashes", 20, &error);
    show("threshold", s, NULL, error);
    error = NULL;

    /* Errors name the line, never its content, and leave the builder usable. */
    s = reachline_builder_add_hashes_csv(b, "bad", "pdq,f8f8,test\nmd5,zzzz-secret,x\n",
                                         &error);
    show("bad_hashes", s, NULL, error);
    error = NULL;
    s = reachline_builder_set_pdq_threshold(b, "hashes", 300, &error);
    show("bad_threshold", s, NULL, error);
    error = NULL;

    ReachlineMatcher *m = NULL;
    s = reachline_builder_build(b, &m, &error);
    show("build", s, NULL, error);
    error = NULL;
    if (!m) {
        return 1;
    }

    s = reachline_matcher_stats(m, &json, &error);
    show("stats", s, json, error);

    s = reachline_check_query(m, "B L U E p1neapple", &json, &error);
    show("query_evasive", s, json, error);
    s = reachline_check_query(m, "bluepineapples", &json, &error);
    show("query_longer_word", s, json, error);
    s = reachline_check_query(m, "Quiet   HARBOUR tours", &json, &error);
    show("query_phrase", s, json, error);
    s = reachline_check_query(m, "\xff\xfe not utf-8", &json, &error);
    show("query_bad_utf8", s, json, error);
    s = reachline_check_query(NULL, "x", &json, &error);
    show("query_null_matcher", s, json, error);
    s = reachline_check_query(m, "x", NULL, &error);
    show("query_null_out", s, json, error);
    json = NULL;
    /* error may be NULL: the status alone is reported. */
    s = reachline_check_query(m, NULL, &json, NULL);
    printf("query_null_input_no_error %d\n", (int)s);

    s = reachline_check_url(m, "https://WWW.QuietHarbour.example:8443/gallery/2024/a.jpg?s=1#x",
                            &json, &error);
    show("url_listed", s, json, error);
    s = reachline_check_url(m, "http://quietharbour.example/", &json, &error);
    show("url_unlisted", s, json, error);
    s = reachline_check_url(m, "http://", &json, &error);
    show("url_malformed", s, json, error);

    s = reachline_check_pdq(m, "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23",
                            &json, &error);
    show("pdq_near", s, json, error);
    s = reachline_check_pdq(m, "0000000000000000000000000000000000000000000000000000000000000000",
                            &json, &error);
    show("pdq_far", s, json, error);
    s = reachline_check_pdq(m, "f8f8-secret", &json, &error);
    show("pdq_bad", s, json, error);

    s = reachline_check_md5(m, "D41D8CD98F00B204E9800998ECF8427E", &json, &error);
    show("md5", s, json, error);
    s = reachline_check_sha256(m, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                               &json, &error);
    show("sha256", s, json, error);
    s = reachline_check_sha256(m, "e3b0", &json, &error);
    show("sha256_bad", s, json, error);

    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror("image");
        return 1;
    }
    static unsigned char image[4 << 20];
    size_t n = fread(image, 1, sizeof image, f);
    fclose(f);
    s = reachline_check_image(m, image, n, &json, &error);
    show("image", s, json, error);
    s = reachline_check_image(m, (const unsigned char *)"not an image", 12, &json, &error);
    show("image_bad", s, json, error);
    s = reachline_check_image(m, NULL, 0, &json, &error);
    show("image_empty", s, json, error);

    shared = m;
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        pthread_create(&threads[i], NULL, worker, NULL);
    }
    long total = 0;
    for (int i = 0; i < 4; i++) {
        void *found = NULL;
        pthread_join(threads[i], &found);
        total += (long)found;
    }
    printf("threads %ld\n", total);

    reachline_matcher_free(m);
    reachline_matcher_free(NULL);
    reachline_builder_free(NULL);
    reachline_string_free(NULL);
    reachline_builder_free(reachline_builder_new());
    printf("done\n");
    return 0;
}
