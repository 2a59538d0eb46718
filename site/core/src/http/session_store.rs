//! Where sessions live (actix-session's `SessionStore`): the cookie holds
//! a random key; the state lives in `core_session` until it expires, or in
//! Redis when `REDIS_URL` is set (shared by every app server, expiring by
//! itself).

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use actix_web::web;
use diesel::prelude::*;

use crate::db::Database;
use crate::schema::core_session::dsl as s;

#[derive(Clone)]
pub struct DbSessionStore {
    db: Database,
}

impl DbSessionStore {
    pub fn new(db: Database) -> Self {
        DbSessionStore { db }
    }
}

type State = HashMap<String, String>;

fn expiry(ttl: &Duration) -> chrono::NaiveDateTime {
    crate::now() + chrono::Duration::seconds(ttl.whole_seconds())
}

async fn blocking<T: Send + 'static>(
    db: &Database,
    f: impl FnOnce(&mut crate::db::DbConn) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let db = db.clone();
    web::block(move || {
        let mut conn = db.get()?;
        f(&mut conn)
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let key = key.as_ref().to_string();
        let row: Option<String> = blocking(&self.db, move |c| {
            Ok(s::core_session
                .filter(s::session_key.eq(key))
                .filter(s::expires_at.gt(crate::now()))
                .select(s::data)
                .first(c)
                .optional()?)
        })
        .await
        .map_err(LoadError::Other)?;
        row.map(|d| serde_json::from_str(&d).map_err(|e| LoadError::Deserialization(e.into())))
            .transpose()
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let data = serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let key = crate::random_token(64);
        let expires = expiry(ttl);
        let user = crate::http::auth::user_id_in_state(&state);
        let k = key.clone();
        blocking(&self.db, move |c| {
            diesel::insert_into(s::core_session)
                .values((
                    s::session_key.eq(k),
                    s::data.eq(data),
                    s::expires_at.eq(expires),
                    s::user_id.eq(user),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .map_err(SaveError::Other)?;
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let data =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let expires = expiry(ttl);
        let user = crate::http::auth::user_id_in_state(&state);
        let k = key.as_ref().to_string();
        let updated = blocking(&self.db, move |c| {
            Ok(diesel::update(s::core_session.filter(s::session_key.eq(k)))
                .set((
                    s::data.eq(data),
                    s::expires_at.eq(expires),
                    s::user_id.eq(user),
                ))
                .execute(c)?)
        })
        .await
        .map_err(UpdateError::Other)?;
        if updated == 0 {
            // Expired, or ended (a password change elsewhere), while this
            // request ran: start a new row, but never a signed-in one, or
            // an ended session would come back under a new key.
            let mut state = state;
            state.remove(crate::http::auth::SESSION_KEY);
            return self
                .save(state, ttl)
                .await
                .map_err(|e| UpdateError::Other(e.into()));
        }
        Ok(key)
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        let k = key.as_ref().to_string();
        let expires = expiry(ttl);
        blocking(&self.db, move |c| {
            diesel::update(s::core_session.filter(s::session_key.eq(k)))
                .set(s::expires_at.eq(expires))
                .execute(c)?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let k = key.as_ref().to_string();
        blocking(&self.db, move |c| {
            diesel::delete(s::core_session.filter(s::session_key.eq(k))).execute(c)?;
            Ok(())
        })
        .await
    }
}

/// The store the shop uses: the database's, or Redis's when configured.
#[derive(Clone)]
pub enum ShopSessionStore {
    Db(DbSessionStore),
    Redis(actix_session::storage::RedisSessionStore),
}

/// Keys of sessions in Redis (beside whatever else the server holds).
pub const REDIS_PREFIX: &str = "shop:session:";

/// Connects the Redis session store (keys under [`REDIS_PREFIX`]).
pub async fn redis_store(url: &str) -> anyhow::Result<actix_session::storage::RedisSessionStore> {
    actix_session::storage::RedisSessionStore::builder(url)
        .cache_keygen(|key| format!("{REDIS_PREFIX}{key}"))
        .build()
        .await
}

impl SessionStore for ShopSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        match self {
            ShopSessionStore::Db(s) => s.load(key).await,
            ShopSessionStore::Redis(s) => s.load(key).await,
        }
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        match self {
            ShopSessionStore::Db(s) => s.save(state, ttl).await,
            ShopSessionStore::Redis(s) => s.save(state, ttl).await,
        }
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        match self {
            ShopSessionStore::Db(s) => s.update(key, state, ttl).await,
            ShopSessionStore::Redis(s) => s.update(key, state, ttl).await,
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        match self {
            ShopSessionStore::Db(s) => s.update_ttl(key, ttl).await,
            ShopSessionStore::Redis(s) => s.update_ttl(key, ttl).await,
        }
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        match self {
            ShopSessionStore::Db(s) => s.delete(key).await,
            ShopSessionStore::Redis(s) => s.delete(key).await,
        }
    }
}
