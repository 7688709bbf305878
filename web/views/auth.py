"""Log-in (``/login``) and log-out (``/logout``)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from compstat import accounts
from web.database import run
from web.security import LoginUser

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """User name and password (with the CSRF token Flask-WTF adds)."""

    name = StringField("name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=1024)])


def safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the overview."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("overview.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the log-in form; on a good name and password, start a session."""
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("login.html", form=form, failed=False), status
    user = run(
        accounts.authenticate, form.name.data, form.password.data, address=request.remote_addr
    )
    if user is None:
        return render_template("login.html", form=form, failed=True), 401
    login_user(LoginUser(user))
    return redirect(safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session and go back to the log-in page."""
    logout_user()
    return redirect(url_for("auth.login"))
