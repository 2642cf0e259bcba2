//! A small recursive-descent evaluator for `+ - * /` and parentheses.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token {
    Number(f64),
    Op(char),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Number(n) => write!(f, "{n}"),
            Token::Op(op) => write!(f, "{op}"),
        }
    }
}

pub fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, ch)) = chars.peek() {
        if ch.is_whitespace() {
            chars.next();
        } else if "+-*/()".contains(ch) {
            out.push(Token::Op(ch));
            chars.next();
        } else if ch.is_ascii_digit() || ch == '.' {
            let mut end = start;
            while let Some(&(index, c)) = chars.peek() {
                if c.is_ascii_digit() || c == '.' {
                    end = index + c.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let number = &text[start..end];
            out.push(Token::Number(
                number
                    .parse()
                    .map_err(|_| format!("bad number `{number}` at {start}"))?,
            ));
        } else {
            return Err(format!("unexpected `{ch}` at {start}"));
        }
    }
    Ok(out)
}

pub fn evaluate(text: &str) -> Result<f64, String> {
    let tokens = tokens(text)?;
    if tokens.is_empty() {
        return Err("empty expression".into());
    }
    let mut parser = Parser { tokens, at: 0 };
    let value = parser.sum()?;
    match parser.tokens.get(parser.at) {
        None => Ok(value),
        Some(token) => Err(format!("unexpected `{token}`")),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).copied();
        self.at += 1;
        token
    }

    fn peek_op(&self) -> Option<char> {
        match self.tokens.get(self.at) {
            Some(Token::Op(op)) => Some(*op),
            _ => None,
        }
    }

    fn sum(&mut self) -> Result<f64, String> {
        let mut value = self.product()?;
        while let Some(op @ ('+' | '-')) = self.peek_op() {
            self.at += 1;
            let rhs = self.product()?;
            value = if op == '+' { value + rhs } else { value - rhs };
        }
        Ok(value)
    }

    fn product(&mut self) -> Result<f64, String> {
        let mut value = self.atom()?;
        while let Some(op @ ('*' | '/')) = self.peek_op() {
            self.at += 1;
            let rhs = self.atom()?;
            if op == '/' && rhs == 0.0 {
                return Err("division by zero".into());
            }
            value = if op == '*' { value * rhs } else { value / rhs };
        }
        Ok(value)
    }

    fn atom(&mut self) -> Result<f64, String> {
        match self.next() {
            Some(Token::Number(n)) => Ok(n),
            Some(Token::Op('-')) => Ok(-self.atom()?),
            Some(Token::Op('(')) => {
                let value = self.sum()?;
                match self.next() {
                    Some(Token::Op(')')) => Ok(value),
                    _ => Err("missing `)`".into()),
                }
            }
            Some(token) => Err(format!("unexpected `{token}`")),
            None => Err("unexpected end of expression".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_parentheses() {
        assert_eq!(evaluate("1 + 2 * (3 - 4)"), Ok(-1.0));
        assert_eq!(evaluate("-(2.5 * 2) / 5"), Ok(-1.0));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(evaluate(""), Err("empty expression".into()));
        assert_eq!(evaluate("1 / 0"), Err("division by zero".into()));
        assert_eq!(evaluate("(1"), Err("missing `)`".into()));
        assert_eq!(evaluate("1 $ 2"), Err("unexpected `$` at 2".into()));
        assert_eq!(evaluate("1 2"), Err("unexpected `2`".into()));
    }
}
