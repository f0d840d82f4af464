//! Update involvements: which agencies are involved with the child, as this event changes it.
//!
//! The rules are deliberately few and visible:
//! - an agency that sends an event about a child is involved with that child;
//! - a referral (or redirection) makes the receiving agency involved, so it hears what happens
//!   next, and the referrer stays involved, so it hears whether the referral was accepted;
//! - a declined referral, a closed episode or case, and a child leaving a school end the
//!   sender's involvement; `involvement.started`/`ended` name the agency explicitly;
//! - a handoff acknowledged as accepted starts the receiver's involvement; declined or
//!   redirected ends it, and starts the new owner's when one is named.

use sqlx::AnyConnection;
use throughline_contracts::event::Event;
use throughline_contracts::kind::{EventBody, HandoffOutcome};
use uuid::Uuid;

use crate::store::{self, StoreError};

pub async fn update(
    conn: &mut AnyConnection,
    child: Uuid,
    event: &Event,
) -> Result<(), StoreError> {
    let by = event.id.to_string();
    let source = event.source.agency.as_str();
    match &event.body {
        EventBody::ReferralDeclined(_)
        | EventBody::EpisodeOfCareClosed(_)
        | EventBody::SocialCareCaseClosed(_)
        | EventBody::SchoolLeft(_) => {
            store::involvements::end(conn, child, source, &by).await?;
        }
        EventBody::InvolvementEnded(p) => {
            store::involvements::end(conn, child, p.agency.as_str(), &by).await?;
        }
        EventBody::InvolvementStarted(p) => {
            store::involvements::start(conn, child, p.agency.as_str(), &by).await?;
        }
        EventBody::ReferralMade(p) => {
            store::involvements::start(conn, child, source, &by).await?;
            store::involvements::start(conn, child, p.to_agency.as_str(), &by).await?;
        }
        EventBody::HandoffAcknowledged(p) => match p.outcome {
            HandoffOutcome::Accepted => {
                store::involvements::start(conn, child, source, &by).await?;
            }
            HandoffOutcome::Declined | HandoffOutcome::Redirected => {
                store::involvements::end(conn, child, source, &by).await?;
                if let Some(owner) = &p.new_owner {
                    store::involvements::start(conn, child, owner.as_str(), &by).await?;
                }
            }
        },
        EventBody::ReferralRedirected(p) => {
            store::involvements::end(conn, child, source, &by).await?;
            store::involvements::start(conn, child, p.to_agency.as_str(), &by).await?;
        }
        _ => {
            store::involvements::start(conn, child, source, &by).await?;
        }
    }
    Ok(())
}
