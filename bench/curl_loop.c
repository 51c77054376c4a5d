/* Anchor for S3: the bare libcurl-multi loop. POSTs BODY to URL with INFLIGHT requests
 * in flight on one multi handle (connections kept alive), for a fixed time, and counts
 * completed 2xx answers. Prints one JSON line:
 * {"ok":N,"errors":E,"seconds":S,"rate":R}.
 * usage: curl_loop URL SECONDS INFLIGHT BODY */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s URL SECONDS INFLIGHT BODY\n", argv[0]);
        return 2;
    }
    const char *url = argv[1], *body = argv[4];
    double seconds = atof(argv[2]);
    int inflight = atoi(argv[3]);
    if (inflight < 1)
        inflight = 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)inflight);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)inflight);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    for (int i = 0; i < inflight; i++) {
        CURL *e = curl_easy_init();
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
        curl_multi_add_handle(m, e);
    }
    long long ok = 0, errors = 0;
    double t0 = now_s(), t = t0;
    int running = inflight;
    while (running > 0) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        t = now_s();
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            long code = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result == CURLE_OK && code >= 200 && code < 300)
                ok++;
            else
                errors++;
            curl_multi_remove_handle(m, e);
            if (t - t0 < seconds) {
                curl_multi_add_handle(m, e); /* same easy handle: reuses its connection */
                running++;
            } else {
                curl_easy_cleanup(e);
            }
        }
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double dt = t - t0;
    printf("{\"ok\":%lld,\"errors\":%lld,\"seconds\":%.3f,\"rate\":%.1f}\n", ok, errors, dt,
           ok / dt);
    curl_slist_free_all(h);
    curl_multi_cleanup(m);
    curl_global_cleanup();
    return 0;
}
