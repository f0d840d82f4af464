//! `/healthz`, `/readyz` and `/metrics`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use super::AppState;
use crate::store;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready to take inputs: the store answers and every broker link is connected. The body lists
/// each link, so an operator sees which one is down.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let store_ok = state.pipeline.store().ping().await.is_ok();
    let links: Vec<_> = state
        .links
        .all()
        .iter()
        .map(|l| json!({"adapter": l.adapter, "direction": l.direction, "name": l.name, "connected": l.connected()}))
        .collect();
    let ready = store_ok && links.iter().all(|l| l["connected"] == true);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(json!({"ready": ready, "store": store_ok, "links": links})),
    )
}

/// Prometheus text format. Labels are adapter, direction, agency/source ids and statuses only:
/// never child data. The in-memory counters and histograms ([`crate::metrics`]) first, then the
/// store's counts.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    state.pipeline.metrics().render(&mut out);
    out.push_str("# HELP throughline_link_up Whether a broker link is connected (1) or not (0).\n");
    out.push_str("# TYPE throughline_link_up gauge\n");
    for l in state.links.all() {
        out.push_str(&format!(
            "throughline_link_up{{adapter=\"{}\",direction=\"{}\",name=\"{}\"}} {}\n",
            l.adapter,
            l.direction,
            l.name,
            u8::from(l.connected())
        ));
    }
    let counts = async {
        let mut conn = state.pipeline.store().pool().acquire().await?;
        let deliveries = store::deliveries::count_by_status(&mut conn).await?;
        let by_agency = store::deliveries::count_by_agency_and_status(&mut conn).await?;
        let held = store::quarantine::count(&mut conn, "held").await?;
        let handoffs = store::handoffs::summary(&mut conn, chrono::Utc::now()).await?;
        Ok::<_, store::StoreError>((deliveries, by_agency, held, handoffs))
    }
    .await;
    out.push_str("# HELP throughline_store_up Whether the store answered (1) or not (0).\n");
    out.push_str("# TYPE throughline_store_up gauge\n");
    match counts {
        Ok((deliveries, by_agency, held, handoffs)) => {
            out.push_str("throughline_store_up 1\n");
            out.push_str("# HELP throughline_deliveries Deliveries in the store, by status.\n");
            out.push_str("# TYPE throughline_deliveries gauge\n");
            for (status, n) in deliveries {
                out.push_str(&format!(
                    "throughline_deliveries{{status=\"{status}\"}} {n}\n"
                ));
            }
            out.push_str(
                "# HELP throughline_agency_deliveries Deliveries in the store, by agency and status.\n",
            );
            out.push_str("# TYPE throughline_agency_deliveries gauge\n");
            // Only configured agencies with a sink: a label value never comes from elsewhere.
            let metrics = state.pipeline.metrics();
            for (agency, status, n) in by_agency.iter().filter(|(a, _, _)| metrics.knows_agency(a))
            {
                out.push_str(&format!(
                    "throughline_agency_deliveries{{agency=\"{}\",status=\"{}\"}} {n}\n",
                    crate::metrics::escape(agency),
                    crate::metrics::escape(status)
                ));
            }
            out.push_str("# HELP throughline_quarantine_held Inputs held in quarantine.\n");
            out.push_str("# TYPE throughline_quarantine_held gauge\n");
            out.push_str(&format!("throughline_quarantine_held {held}\n"));
            out.push_str(
                "# HELP throughline_handoffs_open Handoffs waiting for an answer, by state and age since made.\n",
            );
            out.push_str("# TYPE throughline_handoffs_open gauge\n");
            for (state, age, n) in &handoffs.open {
                out.push_str(&format!(
                    "throughline_handoffs_open{{state=\"{state}\",age=\"{age}\"}} {n}\n"
                ));
            }
            out.push_str(
                "# HELP throughline_handoffs_breached Open handoffs past their deadline.\n",
            );
            out.push_str("# TYPE throughline_handoffs_breached gauge\n");
            out.push_str(&format!(
                "throughline_handoffs_breached {}\n",
                handoffs.breached
            ));
            out.push_str(
                "# HELP throughline_handoff_escalations_sent_total Escalation steps sent.\n",
            );
            out.push_str("# TYPE throughline_handoff_escalations_sent_total counter\n");
            out.push_str(&format!(
                "throughline_handoff_escalations_sent_total {}\n",
                handoffs.escalations_sent
            ));
        }
        Err(_) => out.push_str("throughline_store_up 0\n"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
