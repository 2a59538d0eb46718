//! The profile: name, email change (confirmed by a link to the new
//! address), avatar, and the customer's own data: download it as JSON, or
//! delete the account.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use futures_util::TryStreamExt;
use site_core::db::write_transaction;
use site_core::forms::{optional_text, Email, FormState};
use site_core::http::auth::SessionUser;
use site_core::http::{redirect, Level, MailSendLimit, RequestContext, MAIL_LIMITED};
use site_core::tera::Context;
use site_core::AppError;

use super::{confirm_password, form_page, page, signer, EmailParts, Fields, PasswordCheck};
use crate::avatar::{self, AvatarError};
use crate::models::User;
use crate::twofactor;

/// The profile page with its three forms; `forms` holds the one that was
/// submitted (with its errors), under its name.
async fn profile_page(
    rq: &RequestContext,
    me: &SessionUser,
    forms: &[(&str, &FormState)],
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let id = me.id;
    let (user, recovery_left) = rq
        .db(move |conn| {
            let user = User::find(conn, id)?;
            let left = twofactor::remaining_recovery_codes(conn, id)?;
            Ok((user, left))
        })
        .await?;
    let mut ctx = Context::new();
    ctx.insert("user", &user);
    ctx.insert("two_factor", &user.totp_secret.is_some());
    ctx.insert("recovery_left", &recovery_left);
    let name_form = FormState::initial(&[
        ("first_name", &user.first_name),
        ("last_name", &user.last_name),
    ]);
    ctx.insert("name_form", &name_form);
    ctx.insert("email_form", &FormState::default());
    ctx.insert("avatar_form", &FormState::default());
    for (name, form) in forms {
        ctx.insert(*name, form);
    }
    page(rq, "accounts/profile.html", ctx, status)
}

pub async fn show(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    profile_page(&rq, &me, &[], StatusCode::OK).await
}

pub async fn update_name(rq: RequestContext, body: Fields) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let mut form = FormState::new(body.into_inner());
    let first = form.field("first_name", optional_text(100));
    let last = form.field("last_name", optional_text(100));
    let (Some(first), Some(last)) = (first, last) else {
        return profile_page(
            &rq,
            &me,
            &[("name_form", &form)],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    rq.db(move |conn| Ok(User::set_name(conn, me.id, &first, &last)?))
        .await?;
    rq.flash(Level::Success, "Your name was saved.");
    Ok(redirect(&rq.url("accounts:profile", &[])?))
}

/// Asks for the password, then mails a confirmation link to the new
/// address; the account's address changes only when that link is used.
pub async fn change_email(rq: RequestContext, body: Fields) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let mut form = FormState::new(body.into_inner());
    match request_email_change(&rq, me.id, &mut form).await? {
        Ok(email) => {
            rq.flash(
                Level::Success,
                format!("We sent a link to {email}. Your email address changes when you open it."),
            );
            Ok(redirect(&rq.url("accounts:profile", &[])?))
        }
        Err(status) => profile_page(&rq, &me, &[("email_form", &form)], status).await,
    }
}

/// The email change itself: the new address once its link is queued, or
/// the status to show `form` (with its errors) again with.
async fn request_email_change(
    rq: &RequestContext,
    user_id: i64,
    form: &mut FormState,
) -> Result<Result<Email, StatusCode>, AppError> {
    let email = form.field("email", Email::parse);
    let (user, _) =
        confirm_password(rq, user_id, form, "password", "Your password is not right.").await?;
    let Some(email) = email.filter(|_| form.is_valid()) else {
        return Ok(Err(StatusCode::UNPROCESSABLE_ENTITY));
    };
    if email.as_str() == user.email {
        form.add_error("email", "That is already your email address.");
        return Ok(Err(StatusCode::UNPROCESSABLE_ENTITY));
    }
    if !MailSendLimit::allow(rq).await {
        form.add_non_field_error(MAIL_LIMITED);
        return Ok(Err(StatusCode::TOO_MANY_REQUESTS));
    }
    let parts = EmailParts::of(rq);
    let signer = signer(rq)?;
    let verify_days = rq.config.verify_days;
    let target = email.clone();
    let taken = rq
        .db(move |conn| {
            write_transaction(conn, |conn| {
                if User::email_taken(conn, &target)? {
                    return Ok(true);
                }
                User::set_pending_email(conn, user.id, target.as_str())?;
                let mut user = user;
                user.pending_email = Some(target.to_string());
                super::register::queue_verification(
                    conn,
                    &parts,
                    &signer,
                    verify_days,
                    &user,
                    target.as_str(),
                )?;
                Ok(false)
            })
        })
        .await?;
    if taken {
        form.add_error("email", "Another account uses that email address.");
        return Ok(Err(StatusCode::UNPROCESSABLE_ENTITY));
    }
    Ok(Ok(email))
}

/// Reads the `avatar` part of the upload, refusing more than the limit
/// without reading it all.
async fn read_avatar(mut payload: Multipart) -> Result<(String, Vec<u8>), AvatarError> {
    while let Some(mut field) = payload
        .try_next()
        .await
        .map_err(|_| AvatarError::Unreadable)?
    {
        if field.name() != Some("avatar") {
            continue;
        }
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .unwrap_or("")
            .to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .try_next()
            .await
            .map_err(|_| AvatarError::Unreadable)?
        {
            if bytes.len() + chunk.len() > avatar::MAX_BYTES {
                return Err(AvatarError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((filename, bytes));
    }
    Err(AvatarError::Missing)
}

pub async fn upload_avatar(
    rq: RequestContext,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let processed = match read_avatar(payload).await {
        Ok((filename, bytes)) => {
            // One decode at a time: each may take a blocking thread (which
            // database work shares) and up to 128 MB for a while.
            let _turn = avatar::DECODING
                .acquire()
                .await
                .map_err(AppError::internal)?;
            web::block(move || avatar::process(&filename, &bytes)).await?
        }
        Err(e) => Err(e),
    };
    let png = match processed {
        Ok(png) => png,
        Err(e) => {
            let mut form = FormState::default();
            form.add_error("avatar", e.to_string());
            return profile_page(
                &rq,
                &me,
                &[("avatar_form", &form)],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let media_root = rq.config.media_root.clone();
    let id = me.id;
    rq.db(move |conn| {
        let name = avatar::store(&media_root, &png).map_err(AppError::internal)?;
        let old = User::find(conn, id)?.avatar;
        User::set_avatar(conn, id, &name)?;
        avatar::remove(&media_root, &old);
        Ok(())
    })
    .await?;
    rq.flash(Level::Success, "Your picture was updated.");
    Ok(redirect(&rq.url("accounts:profile", &[])?))
}

pub async fn delete_form(rq: RequestContext) -> Result<HttpResponse, AppError> {
    crate::login_required!(rq);
    form_page(
        &rq,
        "accounts/delete.html",
        &FormState::default(),
        StatusCode::OK,
    )
}

/// Deletes the account after the password is confirmed. Orders stay (the
/// shop's books need them) with the personal details removed.
pub async fn delete_submit(rq: RequestContext, body: Fields) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let mut form = FormState::new(body.into_inner());
    let id = me.id;
    let (user, check) = confirm_password(
        &rq,
        id,
        &mut form,
        "password",
        "Your password is not right.",
    )
    .await?;
    if check != PasswordCheck::Right {
        return form_page(
            &rq,
            "accounts/delete.html",
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let hooks = super::hooks(&rq);
    let media_root = rq.config.media_root.clone();
    rq.db(move |conn| {
        write_transaction(conn, |conn| -> Result<(), AppError> {
            for hook in &hooks.0 {
                hook.forget(conn, id)?;
            }
            User::delete(conn, id)?;
            Ok(())
        })?;
        avatar::remove(&media_root, &user.avatar);
        Ok(())
    })
    .await?;
    rq.session.renew();
    rq.session.remove(site_core::http::auth::SESSION_KEY);
    rq.flash(
        Level::Success,
        "Your account was deleted. Your past orders were kept without your personal details.",
    );
    Ok(redirect("/"))
}

/// Everything the shop keeps about the customer, as a JSON download.
pub async fn export(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let hooks = super::hooks(&rq);
    let id = me.id;
    let data = rq
        .db(move |conn| {
            let user = User::find(conn, id)?;
            let addresses = crate::Address::list_for(conn, id)?;
            let mut out = serde_json::Map::new();
            out.insert("exported_at".into(), serde_json::json!(site_core::now()));
            out.insert(
                "account".into(),
                serde_json::to_value(&user).map_err(AppError::internal)?,
            );
            out.insert(
                "addresses".into(),
                serde_json::to_value(&addresses).map_err(AppError::internal)?,
            );
            for hook in &hooks.0 {
                if let Some((name, value)) = hook.export(conn, id)? {
                    out.insert(name.into(), value);
                }
            }
            Ok(serde_json::Value::Object(out))
        })
        .await?;
    let body = serde_json::to_string_pretty(&data).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("cache-control", "no-store"))
        .insert_header((
            "content-disposition",
            "attachment; filename=\"my-demo-shop-data.json\"",
        ))
        .body(body))
}
