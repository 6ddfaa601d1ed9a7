use allclear_store::{AuditVerdict, NewAuditEntry, Store};

use crate::{T0, fresh, raw, runtime};

async fn three_entries(store: &Store) {
    for (i, action) in ["signin.success", "token.create", "member.set"]
        .into_iter()
        .enumerate()
    {
        let entry = NewAuditEntry {
            actor: "ada",
            action,
            target: "web",
            detail: "",
            ip: "127.0.0.1",
        };
        store.audit(entry, T0 + i as i64).await.unwrap();
    }
}

#[test]
fn an_untouched_chain_verifies() {
    runtime().block_on(async {
        let (_dir, store) = fresh().await;
        assert!(matches!(
            store.audit_verify().await.unwrap(),
            AuditVerdict::Intact { entries: 0, .. }
        ));
        three_entries(&store).await;
        let AuditVerdict::Intact { entries, head } = store.audit_verify().await.unwrap() else {
            panic!("intact chain reported broken");
        };
        assert_eq!(entries, 3);
        assert_eq!(head, store.audit_entries(None, 1).await.unwrap()[0].hash);
    });
}

#[test]
fn an_edited_entry_is_found() {
    runtime().block_on(async {
        let (dir, store) = fresh().await;
        three_entries(&store).await;
        let pool = raw(&dir).await;
        sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
            .execute(&pool)
            .await
            .unwrap();
        let verdict = store.audit_verify().await.unwrap();
        assert!(
            matches!(&verdict, AuditVerdict::Broken { id: 2, reason } if reason.contains("edited")),
            "{verdict:?}"
        );
    });
}

#[test]
fn a_deleted_entry_is_found() {
    runtime().block_on(async {
        let (dir, store) = fresh().await;
        three_entries(&store).await;
        let pool = raw(&dir).await;
        sqlx::query("DELETE FROM audit_log WHERE id = 2").execute(&pool).await.unwrap();
        let verdict = store.audit_verify().await.unwrap();
        assert!(matches!(&verdict, AuditVerdict::Broken { id: 3, reason } if reason.contains("missing")), "{verdict:?}");
    });
}

#[test]
fn a_deleted_entry_with_ids_renumbered_is_found() {
    runtime().block_on(async {
        let (dir, store) = fresh().await;
        three_entries(&store).await;
        let pool = raw(&dir).await;
        sqlx::query("DELETE FROM audit_log WHERE id = 2")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET id = 2 WHERE id = 3")
            .execute(&pool)
            .await
            .unwrap();
        let verdict = store.audit_verify().await.unwrap();
        assert!(
            matches!(&verdict, AuditVerdict::Broken { id: 2, .. }),
            "{verdict:?}"
        );
    });
}
