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
    Redis(RedisSessionStore),
}

/// How long a request waits for Redis: while it is down, a page should
/// say so at once rather than hang.
const REDIS_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Sessions in Redis, each under `<REDIS_KEY_PREFIX>session:<key>`,
/// expiring by itself. Its connection times out and reconnects quickly,
/// so a Redis outage is a "try again" page while it lasts and nothing
/// after.
#[derive(Clone)]
pub struct RedisSessionStore {
    conn: redis::aio::ConnectionManager,
    /// What the keys start with: `<REDIS_KEY_PREFIX>session:`.
    prefix: String,
}

/// A connection to Redis that gives up on an answer after `REDIS_WAIT`
/// and reconnects on the next command after a failure.
pub async fn redis_connection(url: &str) -> anyhow::Result<redis::aio::ConnectionManager> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(REDIS_WAIT)
        .set_response_timeout(REDIS_WAIT)
        .set_number_of_retries(1);
    let client = redis::Client::open(url)?;
    Ok(redis::aio::ConnectionManager::new_with_config(client, config).await?)
}

impl RedisSessionStore {
    pub async fn connect(url: &str, key_prefix: &str) -> anyhow::Result<RedisSessionStore> {
        Ok(RedisSessionStore {
            conn: redis_connection(url).await?,
            prefix: format!("{key_prefix}session:"),
        })
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> anyhow::Result<T> {
        let mut conn = self.conn.clone();
        let answer = tokio::time::timeout(REDIS_WAIT * 2, cmd.query_async::<T>(&mut conn))
            .await
            .map_err(|_| anyhow::anyhow!("Redis did not answer"))?;
        Ok(answer?)
    }

    /// Writes `state` under `key` for `ttl`; `only` is "NX" (a new key) or
    /// "XX" (an existing one). Whether it was written.
    async fn write(
        &self,
        key: &str,
        state: &State,
        ttl: &Duration,
        only: &str,
    ) -> anyhow::Result<bool> {
        let data = serde_json::to_string(state)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{}{key}", self.prefix))
            .arg(data)
            .arg(only)
            .arg("EX")
            .arg(ttl.whole_seconds().max(1));
        let written: Option<String> = self.query(cmd).await?;
        Ok(written.is_some())
    }
}

impl SessionStore for RedisSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(format!("{}{}", self.prefix, key.as_ref()));
        let data: Option<String> = self.query(cmd).await.map_err(LoadError::Other)?;
        data.map(|d| serde_json::from_str(&d).map_err(|e| LoadError::Deserialization(e.into())))
            .transpose()
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let key = crate::random_token(64);
        if !self
            .write(&key, &state, ttl, "NX")
            .await
            .map_err(SaveError::Other)?
        {
            return Err(SaveError::Other(anyhow::anyhow!(
                "a session key was drawn twice"
            )));
        }
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        if self
            .write(key.as_ref(), &state, ttl, "XX")
            .await
            .map_err(UpdateError::Other)?
        {
            return Ok(key);
        }
        // Expired while this request ran: a new session, never a signed-in
        // one (as the database store does).
        let mut state = state;
        state.remove(crate::http::auth::SESSION_KEY);
        self.save(state, ttl)
            .await
            .map_err(|e| UpdateError::Other(e.into()))
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        let mut cmd = redis::cmd("EXPIRE");
        cmd.arg(format!("{}{}", self.prefix, key.as_ref()))
            .arg(ttl.whole_seconds().max(1));
        self.query::<i64>(cmd).await.map(|_| ())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(format!("{}{}", self.prefix, key.as_ref()));
        self.query::<i64>(cmd).await.map(|_| ())
    }
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
