use allclear_store::{Role, SessionStage, Store, StoreError};

use crate::{T0, fresh, raw, runtime};

#[test]
fn reopening_keeps_data_and_does_not_migrate_twice() {
    runtime().block_on(async {
        let (dir, store) = fresh().await;
        store.create_user("ada", true, T0).await.unwrap();
        store.close().await;
        let store = Store::open(dir.path()).await.unwrap();
        assert!(store.user_by_name("ada").await.unwrap().is_some());
    });
}

#[test]
fn a_database_from_a_newer_binary_is_refused() {
    runtime().block_on(async {
        let (dir, store) = fresh().await;
        store.close().await;
        let pool = raw(&dir).await;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99, 'from the future', 1, x'00', 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
        let error = Store::open(dir.path()).await.unwrap_err();
        assert!(
            matches!(error, StoreError::NewerThanBinary { found: 99, supported: 1 }),
            "{error:?}"
        );
        assert!(error.to_string().contains("newer than this allclear supports"));
    });
}

#[test]
fn deactivation_ends_sessions_and_revokes_tokens() {
    runtime().block_on(async {
        let (_dir, store) = fresh().await;
        let ada = store.create_user("ada", true, T0).await.unwrap();
        let project = store.create_project("web", "Web", ada, T0).await.unwrap();
        store
            .create_session("s1", ada, SessionStage::Full, T0)
            .await
            .unwrap();
        store
            .create_token(project, "ci", "t1", Role::Member, ada, T0)
            .await
            .unwrap();
        assert!(store.token_by_hash("t1").await.unwrap().is_some());

        store.set_active(ada, false, T0 + 1).await.unwrap();
        assert!(store.session("s1").await.unwrap().is_none());
        assert!(store.token_by_hash("t1").await.unwrap().is_none());
        // Reactivating does not bring the revoked token back.
        store.set_active(ada, true, T0 + 2).await.unwrap();
        assert!(store.token_by_hash("t1").await.unwrap().is_none());
    });
}

#[test]
fn a_token_never_has_more_than_its_creator() {
    runtime().block_on(async {
        let (_dir, store) = fresh().await;
        let ada = store.create_user("ada", true, T0).await.unwrap();
        let bob = store.create_user("bob", false, T0).await.unwrap();
        let project = store.create_project("web", "Web", ada, T0).await.unwrap();
        store.set_member(project, bob, Role::Manager).await.unwrap();
        store
            .create_token(project, "ci", "t1", Role::Member, bob, T0)
            .await
            .unwrap();
        assert_eq!(
            store.token_by_hash("t1").await.unwrap().unwrap().role,
            Role::Member
        );
        store
            .set_member(project, bob, Role::ReadOnly)
            .await
            .unwrap();
        assert_eq!(
            store.token_by_hash("t1").await.unwrap().unwrap().role,
            Role::ReadOnly
        );
    });
}

#[test]
fn lockout_after_repeated_failures() {
    runtime().block_on(async {
        let (_dir, store) = fresh().await;
        let ada = store.create_user("ada", true, T0).await.unwrap();
        for _ in 0..4 {
            assert!(!store.record_failure(ada, T0, 5, 900).await.unwrap());
        }
        assert!(store.record_failure(ada, T0, 5, 900).await.unwrap());
        assert_eq!(
            store.user(ada).await.unwrap().unwrap().locked_until,
            T0 + 900
        );
        store.clear_failures(ada).await.unwrap();
        assert_eq!(store.user(ada).await.unwrap().unwrap().locked_until, 0);
    });
}

#[test]
fn a_totp_step_is_accepted_once() {
    runtime().block_on(async {
        let (_dir, store) = fresh().await;
        let ada = store.create_user("ada", true, T0).await.unwrap();
        store
            .enrol_totp(ada, "SECRET", 10, &["h1".to_owned()])
            .await
            .unwrap();
        assert!(!store.accept_totp_step(ada, 10).await.unwrap());
        assert!(store.accept_totp_step(ada, 11).await.unwrap());
        assert!(!store.accept_totp_step(ada, 11).await.unwrap());
        assert!(store.use_recovery_code(ada, "h1", T0).await.unwrap());
        assert!(!store.use_recovery_code(ada, "h1", T0).await.unwrap());
    });
}
