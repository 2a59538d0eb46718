//! The address book pages: list with an "add" form, edit, delete, make
//! default. Another customer's address id is a 404.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use site_core::forms::FormState;
use site_core::http::auth::SessionUser;
use site_core::http::{redirect, Level, RequestContext};
use site_core::tera::Context;
use site_core::AppError;

use super::{page, Fields};
use crate::address::{Address, MAX_ADDRESSES};
use site_core::address::PostalAddress;

fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

async fn list_page(
    rq: &RequestContext,
    me: &SessionUser,
    form: &FormState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let id = me.id;
    let addresses = rq.db(move |conn| Ok(Address::list_for(conn, id)?)).await?;
    let mut ctx = Context::new();
    ctx.insert("addresses", &addresses);
    ctx.insert("form", form);
    ctx.insert("max", &MAX_ADDRESSES);
    page(rq, "accounts/addresses.html", ctx, status)
}

pub async fn list(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    list_page(&rq, &me, &FormState::default(), StatusCode::OK).await
}

pub async fn create(rq: RequestContext, body: Fields) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let mut form = FormState::new(body.into_inner());
    let make_default = form.raw("is_default") == "on";
    let Some(fields) = PostalAddress::parse(&mut form, "") else {
        return list_page(&rq, &me, &form, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let id = me.id;
    let created = rq
        .db(move |conn| Ok(Address::create(conn, id, &fields, make_default)?))
        .await?;
    if created.is_none() {
        form.add_non_field_error(format!(
            "Your address book is full ({MAX_ADDRESSES} addresses). Delete one to add another."
        ));
        return list_page(&rq, &me, &form, StatusCode::CONFLICT).await;
    }
    rq.flash(Level::Success, "Address saved.");
    Ok(redirect(&rq.url("accounts:addresses", &[])?))
}

fn edit_page(
    rq: &RequestContext,
    address_id: i64,
    form: &FormState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("form", form);
    ctx.insert("address_id", &address_id);
    page(rq, "accounts/address_edit.html", ctx, status)
}

pub async fn edit_form(
    rq: RequestContext,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let aid = parse_id(&id)?;
    let a = rq
        .db(move |conn| Ok(Address::find_for(conn, me.id, aid)?))
        .await?;
    let f = a.fields();
    let mut form = FormState::initial(&[
        ("first_name", &f.first_name),
        ("last_name", &f.last_name),
        ("address", &f.address),
        ("postal_code", &f.postal_code),
        ("city", &f.city),
        ("country", &f.country),
    ]);
    if a.is_default {
        form.values.insert("is_default".into(), "on".into());
    }
    edit_page(&rq, aid, &form, StatusCode::OK)
}

pub async fn edit_submit(
    rq: RequestContext,
    id: web::Path<String>,
    body: Fields,
) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let aid = parse_id(&id)?;
    let mut form = FormState::new(body.into_inner());
    let make_default = form.raw("is_default") == "on";
    let Some(fields) = PostalAddress::parse(&mut form, "") else {
        // Still 404 for someone else's address, even with a bad form.
        rq.db(move |conn| Ok(Address::find_for(conn, me.id, aid)?))
            .await?;
        return edit_page(&rq, aid, &form, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let updated = rq
        .db(move |conn| Ok(Address::update(conn, me.id, aid, &fields, make_default)?))
        .await?;
    if !updated {
        return Err(AppError::NotFound);
    }
    rq.flash(Level::Success, "Address saved.");
    Ok(redirect(&rq.url("accounts:addresses", &[])?))
}

pub async fn delete(rq: RequestContext, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let aid = parse_id(&id)?;
    if !rq
        .db(move |conn| Ok(Address::delete(conn, me.id, aid)?))
        .await?
    {
        return Err(AppError::NotFound);
    }
    rq.flash(Level::Success, "Address deleted.");
    Ok(redirect(&rq.url("accounts:addresses", &[])?))
}

pub async fn make_default(
    rq: RequestContext,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let aid = parse_id(&id)?;
    rq.db(move |conn| {
        let a = Address::find_for(conn, me.id, aid)?;
        Address::update(conn, me.id, aid, &a.fields(), true)?;
        Ok(())
    })
    .await?;
    rq.flash(Level::Success, "Default address changed.");
    Ok(redirect(&rq.url("accounts:addresses", &[])?))
}
