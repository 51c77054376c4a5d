/* Feed items and the news feed (SPEC 4.4). (Being written.) */
#include "api/internal.h"

static void not_yet(struct api_req *r)
{
    reply_error(r, ERR_NOT_FOUND, "the feed is not available yet");
}

void h_feed_create(struct api_req *r) { not_yet(r); }
void h_feed_get(struct api_req *r) { not_yet(r); }
void h_feed_delete(struct api_req *r) { not_yet(r); }
void h_feed_actions(struct api_req *r) { not_yet(r); }
void h_news_feed(struct api_req *r) { not_yet(r); }
