//! Notifications: sent to everyone or to entity refs; a reader sees broadcasts and what was
//! sent to a ref that stands for them, newest first, paged by cursor. On SQLite and PostgreSQL.

use socle_store::{NewNotification, NotificationSeverity, Recipients, Store, StoreError};

use super::open;

fn note(title: &str, recipients: Recipients) -> NewNotification {
    NewNotification {
        origin: "user:default/ann".into(),
        title: title.into(),
        description: Some("details".into()),
        link: Some("https://example.com/x".into()),
        severity: NotificationSeverity::Normal,
        scope: None,
        recipients,
    }
}

fn to(refs: &[&str]) -> Recipients {
    Recipients::Entities(refs.iter().map(|r| r.to_string()).collect())
}

fn refs(r: &[&str]) -> Vec<String> {
    r.iter().map(|s| s.to_string()).collect()
}

async fn send_all(store: &Store) {
    store
        .send_notification(note("to ann", to(&["User:default/Ann"])), 1)
        .await
        .unwrap();
    store
        .send_notification(note("to team-a", to(&["group:default/team-a"])), 2)
        .await
        .unwrap();
    store
        .send_notification(note("to team-b", to(&["group:default/team-b"])), 3)
        .await
        .unwrap();
    store
        .send_notification(note("everyone", Recipients::Broadcast), 4)
        .await
        .unwrap();
    store
        .send_notification(
            note(
                "to eve and team-a",
                to(&[
                    "user:default/eve",
                    "group:default/team-a",
                    "group:default/team-a",
                ]),
            ),
            5,
        )
        .await
        .unwrap();
}

fn titles(page: &socle_store::NotificationPage) -> Vec<&str> {
    page.items.iter().map(|n| n.title.as_str()).collect()
}

async fn a_reader_sees_broadcasts_and_what_was_sent_to_them_or_their_teams(store: &Store) {
    send_all(store).await;
    let ann = refs(&["user:default/ann", "group:default/team-a"]);
    let page = store.list_notifications(&ann, None, 50).await.unwrap();
    assert_eq!(
        titles(&page),
        vec!["to eve and team-a", "everyone", "to team-a", "to ann"]
    );
    assert_eq!(page.total, 4);
    assert_eq!(page.next_cursor, None);
    let first = &page.items[0];
    assert_eq!(
        first.recipients,
        vec!["group:default/team-a", "user:default/eve"],
        "refs lowercased, each once"
    );
    assert_eq!(first.created_at, 5);
    assert!(page.items[1].broadcast && page.items[1].recipients.is_empty());
    assert_eq!(page.items[3].recipients, vec!["user:default/ann"]);
}
both!(a_reader_sees_broadcasts_and_what_was_sent_to_them_or_their_teams);

async fn another_teams_notifications_are_not_listed(store: &Store) {
    send_all(store).await;
    let val = refs(&["user:default/val"]);
    let page = store.list_notifications(&val, None, 50).await.unwrap();
    assert_eq!(titles(&page), vec!["everyone"]);
    assert_eq!(page.total, 1);
    let nobody = store.list_notifications(&[], None, 50).await.unwrap();
    assert_eq!(titles(&nobody), vec!["everyone"]);
}
both!(another_teams_notifications_are_not_listed);

async fn pages_follow_the_cursor_newest_first(store: &Store) {
    send_all(store).await;
    let ann = refs(&["user:default/ann", "group:default/team-a"]);
    let p1 = store.list_notifications(&ann, None, 3).await.unwrap();
    assert_eq!(
        titles(&p1),
        vec!["to eve and team-a", "everyone", "to team-a"]
    );
    assert_eq!(p1.total, 4);
    let cursor = p1.next_cursor.clone().unwrap();
    assert_eq!(cursor, p1.items[2].id);
    let p2 = store
        .list_notifications(&ann, Some(&cursor), 3)
        .await
        .unwrap();
    assert_eq!(titles(&p2), vec!["to ann"]);
    assert_eq!((p2.total, p2.next_cursor), (4, None));
    // A full last page has no next page.
    let exact = store.list_notifications(&ann, None, 4).await.unwrap();
    assert_eq!(exact.next_cursor, None);
}
both!(pages_follow_the_cursor_newest_first);

async fn a_deleted_notification_is_gone_for_everyone(store: &Store) {
    let n = store
        .send_notification(note("oops", to(&["user:default/ann"])), 1)
        .await
        .unwrap();
    assert_eq!(n.id, "notification-1");
    store.delete_notification(&n.id).await.unwrap();
    let page = store
        .list_notifications(&refs(&["user:default/ann"]), None, 50)
        .await
        .unwrap();
    assert!(page.items.is_empty());
    store.delete_notification("notification-99").await.unwrap();
}
both!(a_deleted_notification_is_gone_for_everyone);

async fn bad_cursors_and_too_many_refs_are_refused(store: &Store) {
    let e = store
        .list_notifications(&[], Some("run-1"), 10)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(m) if m.contains("not a notification id")));
    let many: Vec<String> = (0..=socle_store::MAX_RECIPIENT_REFS)
        .map(|i| format!("group:default/g{i}"))
        .collect();
    let e = store.list_notifications(&many, None, 10).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(m) if m.contains("at most")));
}
both!(bad_cursors_and_too_many_refs_are_refused);
