/* Live status events (SPEC 9): GET /services/data/vNN.N/connect/action-link-events streams
 * to each user an event for every status change that user can see, as Server-Sent Events
 * (id: <seq>, event: status, data: <Platform Action JSON for that user>). The changes
 * come from the store's event log (written with each change, by any node), so a client
 * that reconnects with Last-Event-ID gets what it missed.
 *
 * One hub thread reads the log — at once when this process made a change
 * (events_notify), else once a second for other nodes' changes — renders each change
 * for each subscriber that sees it, and pushes it to their streams. */
#ifndef AL_EVENTS_H
#define AL_EVENTS_H

struct api;
struct events;

struct events *events_new(struct api *api);
/* A status changed in this process: read the log now. Thread-safe; NULL does nothing. */
void events_notify(struct events *ev);
/* The number of open streams. */
int events_subscribers(struct events *ev);
/* Stops the hub. Call after the HTTP server has closed (its streams are gone). */
void events_free(struct events *ev);

#endif
