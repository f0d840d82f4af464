//! The overview: traffic in and out per minute over the last hour, deliveries by state, each
//! agency's backlog and the age of its oldest waiting notification, adapter health, and the
//! most recent deliveries. The page renders it once; [`super::live`] re-renders the same
//! fragment every second and pushes it to open pages.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::DashState;
use super::page::{Nav, PageError, age, render, when};
use super::session::Session;
use crate::store::{self, deliveries, overview::PerMinute};

/// Minutes shown in the throughput plots.
const MINUTES: i64 = 60;
/// Rows in the recent deliveries table.
const RECENT: i64 = 15;
/// Height of a plot, in SVG units; bars scale to the busiest minute.
const PLOT_HEIGHT: i64 = 48;

/// One minute's bar in a throughput plot.
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub h: i64,
    pub label: String,
}

pub struct Series {
    pub bars: Vec<Bar>,
    pub last_hour: i64,
    pub last_minute: i64,
    pub peak: i64,
}

fn series(counts: &PerMinute, now: chrono::DateTime<chrono::Utc>) -> Series {
    let this_minute = now.timestamp() / 60;
    let by_minute: BTreeMap<i64, i64> = counts
        .iter()
        .map(|(t, n)| (t.timestamp() / 60, *n))
        .collect();
    let peak = by_minute.values().copied().max().unwrap_or(0);
    let bars = (0..MINUTES)
        .filter_map(|i| {
            let minute = this_minute - (MINUTES - 1) + i;
            let n = by_minute.get(&minute).copied().unwrap_or(0);
            (n > 0).then(|| {
                let h = (n * PLOT_HEIGHT / peak.max(1)).max(1);
                let start = chrono::DateTime::from_timestamp(minute * 60, 0).unwrap_or_default();
                Bar {
                    x: i * 10,
                    y: PLOT_HEIGHT - h,
                    h,
                    label: format!("{}: {n}", start.format("%H:%M")),
                }
            })
        })
        .collect();
    Series {
        bars,
        last_hour: by_minute.values().sum(),
        last_minute: by_minute.get(&this_minute).copied().unwrap_or(0),
        peak,
    }
}

/// The backlog (notifications waiting, all agencies) at the end of each of the last
/// [`MINUTES`] minutes, worked back from the backlog now: going back past a minute adds what
/// left the queue in it (delivered, dead or discarded) and takes away what was made in it.
/// The store keeps no history of its own, so this is derived rather than sampled; minutes
/// with an empty queue are left out, like the throughput plots' quiet minutes.
fn backlog(
    pending_now: i64,
    made: &PerMinute,
    left: &[&PerMinute],
    now: chrono::DateTime<chrono::Utc>,
) -> PerMinute {
    let minute_of = |t: &chrono::DateTime<chrono::Utc>| t.timestamp() / 60;
    let mut change: BTreeMap<i64, i64> = BTreeMap::new();
    for (t, n) in made {
        *change.entry(minute_of(t)).or_default() += n;
    }
    for series in left {
        for (t, n) in series.iter() {
            *change.entry(minute_of(t)).or_default() -= n;
        }
    }
    let this_minute = now.timestamp() / 60;
    let mut waiting = pending_now;
    let mut out = Vec::new();
    for minute in (this_minute - (MINUTES - 1)..=this_minute).rev() {
        if waiting > 0 {
            out.push((
                chrono::DateTime::from_timestamp(minute * 60, 0).unwrap_or_default(),
                waiting,
            ));
        }
        // The end of the minute before this one: undo this minute's change.
        waiting = (waiting - change.get(&minute).copied().unwrap_or(0)).max(0);
    }
    out.reverse();
    out
}

/// Deliveries of one agency by state.
#[derive(Default)]
pub struct StateRow {
    pub agency: String,
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
    pub discarded: i64,
    /// Age of the oldest pending notification, if any.
    pub oldest_age: Option<String>,
}

pub struct LinkRow {
    pub name: String,
    pub direction: &'static str,
    pub adapter: &'static str,
    /// `up`, `down`, or `per request` for a webhook, which holds no connection.
    pub state: &'static str,
}

pub struct RecentRow {
    pub id: String,
    pub created: String,
    pub agency: String,
    pub event_id: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: String,
}

#[derive(Template)]
#[template(path = "dashboard/overview_live.html")]
pub struct OverviewLive {
    pub updated: String,
    pub events_in: Series,
    pub notifications_out: Series,
    /// Notifications waiting at the end of each minute (see [`backlog`]).
    pub backlog: Series,
    pub states: Vec<StateRow>,
    pub totals: StateRow,
    pub links: Vec<LinkRow>,
    pub recent: Vec<RecentRow>,
    pub held: i64,
}

/// Reads everything the overview shows, in one short visit to the store.
pub async fn snapshot(state: &DashState) -> Result<OverviewLive, PageError> {
    let now = chrono::Utc::now();
    let since = now - chrono::Duration::minutes(MINUTES - 1);
    let since = since - chrono::Duration::seconds(since.timestamp() % 60);
    let config = state.config();
    let mut conn = state.store().acquire().await?;
    let events = store::overview::events_per_minute(&mut conn, since).await?;
    let delivered = store::overview::notifications_per_minute(&mut conn, since).await?;
    let made = store::overview::created_per_minute(&mut conn, since).await?;
    let left_unsent = store::overview::left_unsent_per_minute(&mut conn, since).await?;
    let counts = store::overview::by_agency_and_status(&mut conn).await?;
    let recent = deliveries::list(&mut conn, None, RECENT).await?;
    let held = store::quarantine::count(&mut conn, "held").await?;

    let mut rows: BTreeMap<String, StateRow> = config
        .agencies
        .values()
        .filter(|a| a.sink.is_some())
        .map(|a| {
            (
                a.id.as_str().to_owned(),
                StateRow {
                    agency: a.id.as_str().to_owned(),
                    ..Default::default()
                },
            )
        })
        .collect();
    for c in &counts {
        let row = rows.entry(c.agency.clone()).or_insert_with(|| StateRow {
            agency: c.agency.clone(),
            ..Default::default()
        });
        match c.status.as_str() {
            deliveries::PENDING => row.pending += c.n,
            deliveries::DELIVERED => row.delivered += c.n,
            deliveries::DEAD => row.dead += c.n,
            _ => row.discarded += c.n,
        }
    }
    let mut totals = StateRow {
        agency: "all agencies".into(),
        ..Default::default()
    };
    for row in rows.values_mut() {
        if row.pending > 0 {
            row.oldest_age = store::overview::oldest_pending(&mut conn, &row.agency)
                .await?
                .map(|t| age(t, now));
        }
        totals.pending += row.pending;
        totals.delivered += row.delivered;
        totals.dead += row.dead;
        totals.discarded += row.discarded;
    }
    drop(conn);

    let registered = state.0.links.all();
    let mut links: Vec<LinkRow> = config
        .agencies
        .values()
        .filter_map(|a| {
            let sink = a.sink.as_ref()?;
            let link = registered
                .iter()
                .find(|l| l.direction == "sink" && l.name == a.id.as_str());
            Some(LinkRow {
                name: a.id.as_str().to_owned(),
                direction: "sink",
                adapter: sink.adapter(),
                state: match link {
                    Some(l) if l.connected() => "up",
                    Some(_) => "down",
                    None => "per request",
                },
            })
        })
        .collect();
    links.extend(
        registered
            .iter()
            .filter(|l| l.direction == "source")
            .map(|l| LinkRow {
                name: l.name.clone(),
                direction: "source",
                adapter: l.adapter,
                state: if l.connected() { "up" } else { "down" },
            }),
    );

    Ok(OverviewLive {
        updated: when(now),
        events_in: series(&events, now),
        notifications_out: series(&delivered, now),
        backlog: series(
            &backlog(totals.pending, &made, &[&delivered, &left_unsent], now),
            now,
        ),
        states: rows.into_values().collect(),
        totals,
        links,
        recent: recent
            .into_iter()
            .map(|d| RecentRow {
                created: when(d.created_at),
                event_id: d.event_id,
                agency: d.agency,
                status: d.status,
                attempts: d.attempts,
                last_error: d.last_error.unwrap_or_default(),
                id: d.id,
            })
            .collect(),
        held,
    })
}

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
struct OverviewPage {
    nav: Option<Nav>,
    live: String,
}

pub async fn page(State(state): State<DashState>, session: Session) -> Result<Response, PageError> {
    let live = snapshot(&state)
        .await?
        .render()
        .map_err(|_| PageError::Internal)?;
    Ok(render(&OverviewPage {
        nav: Some(Nav::new(&session, "overview")),
        live,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_minute_and_skip_empty_ones() {
        let now = chrono::DateTime::from_timestamp(1_800_000_030, 0).unwrap();
        let minute = |ago: i64| {
            chrono::DateTime::from_timestamp((now.timestamp() / 60 - ago) * 60, 0).unwrap()
        };
        let s = series(&vec![(minute(2), 5), (minute(0), 10)], now);
        assert_eq!(s.last_hour, 15);
        assert_eq!(s.last_minute, 10);
        assert_eq!(s.bars.len(), 2);
        assert_eq!(s.bars[1].h, PLOT_HEIGHT);
        assert_eq!(s.bars[0].h, PLOT_HEIGHT / 2);
        assert_eq!(s.bars[1].x, (MINUTES - 1) * 10);
    }

    #[test]
    fn the_backlog_is_worked_back_from_now_minute_by_minute() {
        let now = chrono::DateTime::from_timestamp(1_800_000_030, 0).unwrap();
        let minute = |ago: i64| {
            chrono::DateTime::from_timestamp((now.timestamp() / 60 - ago) * 60, 0).unwrap()
        };
        // 3 minutes ago 10 were made; 2 minutes ago 4 were delivered and 1 died; this minute
        // 2 more were made and 1 delivered. 6 wait now.
        let made = vec![(minute(3), 10), (minute(0), 2)];
        let delivered = vec![(minute(2), 4), (minute(0), 1)];
        let dead = vec![(minute(2), 1)];
        let b = backlog(6, &made, &[&delivered, &dead], now);
        let at = |ago: i64| b.iter().find(|(t, _)| *t == minute(ago)).map(|(_, n)| *n);
        assert_eq!(at(0), Some(6), "now");
        assert_eq!(
            at(1),
            Some(5),
            "before this minute's 2 made and 1 delivered"
        );
        assert_eq!(at(2), Some(5), "a quiet minute keeps the level");
        assert_eq!(at(3), Some(10), "before the 4 delivered and 1 dead");
        assert_eq!(at(4), None, "before the 10 were made the queue was empty");
        assert!(b.windows(2).all(|w| w[0].0 < w[1].0), "oldest first");
    }
}
